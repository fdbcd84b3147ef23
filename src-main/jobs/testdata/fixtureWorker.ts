// A worker with small job kinds that exercise the runner's paths (tests only).
import { runWorker } from '../worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** When the engine was started (process uptime, seconds): on `warm` for a spare, else with the job. */
let engineStartedAt: number | null = null;

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
    whenStarted: async () => async () => ({ pid: process.pid, engineStartedAt, jobStartedAt: process.uptime() }),
  },
  async () => {
    engineStartedAt = process.uptime();
    return 'fixture';
  },
);
