// A worker with small job kinds that exercise the runner's paths (tests only).
import { encodeFloat16 } from '../../../src-shared/float16.js';
import { runWorker } from '../worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** When the engine was started (process uptime, seconds): on `warm` for a spare, else with the job. */
let engineStartedAt: number | null = null;
/** When the spare's work ahead ran (process uptime, seconds), after its engine. */
let warmedAt: number | null = null;

runWorker(
  {
    count: async () => async (payload, ctx) => {
      const { steps } = payload as { steps: number };
      for (let step = 1; step <= steps; step++) {
        if (ctx.signal.aborted) return { stoppedAt: step - 1 };
        ctx.progress({ step, totalSteps: steps, loss: 1 / step });
        ctx.metric(step, { loss: 1 / step });
        await sleep(5);
      }
      return { stoppedAt: steps };
    },
    throws: async () => async () => {
      throw new Error('bad labels: image 7 has no points');
    },
    dies: async () => async () => {
      process.stderr.write('about to die\n');
      process.kill(process.pid, 'SIGKILL');
      await sleep(10_000);
    },
    // libtensorflow's start-up notices (as it prints them with oneDNN on), then a line of its own.
    noisyDies: async () => async () => {
      process.stderr.write('WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n');
      process.stderr.write('I0000 00:00:1795355455.456985   16331 port.cc:153] oneDNN custom operations are on. ');
      process.stderr.write('You may see slightly different numerical results.\n');
      process.stderr.write('disk almost full\n');
      process.kill(process.pid, 'SIGKILL');
      await sleep(10_000);
    },
    ignoresCancel: async () => async () => {
      await sleep(60_000);
    },
    // Sends its result in `count` pieces before ending; with `linger`, keeps its process alive after it.
    pieces: async () => async (payload, ctx) => {
      const { count, linger } = payload as { count: number; linger?: boolean };
      for (let i = 0; i < count; i++) {
        await ctx.partial({ piece: i });
        await sleep(20);
      }
      if (linger) setTimeout(() => undefined, 60_000);
      return { sent: count, pid: process.pid };
    },
    // A prediction job's wire format: one batch (the first image, two keypoints, a 4 x 4 heatmap
    // each), then the end, or with FIXTURE_PREDICT_FAILS an error after the batch was sent.
    predict: async () => async (payload, ctx) => {
      const { images } = payload as { images: { id: number }[] };
      const id = images[0]!.id;
      const bounds = { x: 0, y: 0, w: 80, h: 60 };
      await ctx.partial({
        predictions: [
          {
            id,
            points: [
              { x: 10, y: 20, confidence: 0.9 },
              { x: 30, y: 40, confidence: 0.4 },
            ],
            heatmaps: {
              width: 4,
              height: 4,
              bounds,
              maps: [0, 1].map((k) => encodeFloat16(new Array(16).fill(k / 2))),
            },
          },
        ],
      });
      await sleep(50);
      if (process.env.FIXTURE_PREDICT_FAILS) throw new Error(process.env.FIXTURE_PREDICT_FAILS);
      return { predicted: 1, problems: [], seconds: 0.05, imagesPerSecond: 20 };
    },
    whenStarted: async () => async () => ({
      pid: process.pid,
      engineStartedAt,
      warmedAt,
      jobStartedAt: process.uptime(),
    }),
  },
  async () => {
    engineStartedAt = process.uptime();
    return 'fixture';
  },
  async () => {
    warmedAt = process.uptime();
  },
);
