// Entry of the heatmap head's batch worker thread (HeatmapBatchWorker in heatmapBatches.ts starts
// it with a plan): makes that plan's batches, in step order, as the training thread asks for them,
// and hands their arrays over without copying.
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadsPriority } from '../workerThread.js';
import { heatmapBatchMaker, type HeatmapBatchPlan } from './heatmapBatches.js';

lowerThisThreadsPriority();

const port = parentPort!;
const make = heatmapBatchMaker(workerData as HeatmapBatchPlan);
port.on('message', (step: number) => {
  try {
    const batch = make(step);
    const buffers = [batch.images, batch.targets, batch.mask].map((values) => values.buffer as ArrayBuffer);
    port.postMessage({ step, batch }, buffers);
  } catch (err) {
    port.postMessage({ step, error: err instanceof Error ? err.message : String(err) });
  }
});
