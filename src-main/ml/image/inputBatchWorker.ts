// Entry of the input thread (BatchLoader's `thread` option): prepares the batches of one pass
// (read, decode, resize, cache) on this thread's own event loop, so their steps go on while the
// JavaScript thread of the job is inside a TensorFlow call, and hands their pixels over without
// copying: at most `prefetch` + 1 handed over and not yet taken, `prefetch` more in preparation.
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadsPriority } from '../workerThread.js';
import { preparedBatches, type InputThreadMessage, type InputThreadPlan, type PrepareOptions } from './inputBatches.js';

lowerThisThreadsPriority();

const port = parentPort!;
const plan = workerData as InputThreadPlan;
let credit = plan.options.prefetch + 1;
let wake: (() => void) | null = null;
port.on('message', () => {
  credit++;
  wake?.();
});
const post = (message: InputThreadMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

const options: PrepareOptions = {
  ...plan.options,
  onBrokenImage: plan.reportBroken
    ? (path, error) => post({ type: 'broken', path, name: error.name, message: error.message })
    : undefined,
};
try {
  for await (const batch of preparedBatches(plan.items, plan.order, options)) {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    // Pixels that share their buffer (a cache file read into a larger one) are copied; the rest move.
    const images = batch.images.map((image) =>
      image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength
        ? image
        : { ...image, data: image.data.slice() },
    );
    post(
      { type: 'batch', batch: { indices: batch.indices, images } },
      images.map((image) => image.data.buffer as ArrayBuffer),
    );
  }
  post({ type: 'end' });
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  post({ type: 'error', name: error.name, message: error.message });
}
