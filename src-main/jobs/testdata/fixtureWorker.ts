// A worker with small job kinds that exercise the runner's paths (tests only).
import { runWorker } from '../worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    ignoresCancel: async () => async () => {
      await sleep(60_000);
    },
  },
  async () => 'fixture',
);
