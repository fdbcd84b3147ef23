// Network-input batches as plain pixels (no TensorFlow: this runs on the input thread too): each
// batch's images read, decoded and resized a few at a time, the next batches prepared ahead
// while the current one is used. BatchLoader turns them into tensors.
import { preprocessImage, type ImageSource, type PreprocessedImage, type PreprocessOptions } from './preprocess.js';

export interface PreparedBatch {
  /** Index in the loader's items of each image (a broken image left out is not among them). */
  indices: number[];
  images: PreprocessedImage[];
}

export interface PrepareOptions extends PreprocessOptions {
  /** Images decoded at the same time (bounds memory with huge photos). */
  concurrency: number;
  /** Batches prepared ahead of the one being used. */
  prefetch: number;
  /** Without it a broken image ends the pass with its error; with it the image is reported and left out. */
  onBrokenImage?: (path: string, error: Error) => void;
}

/** What the input thread (inputBatchWorker.ts) gets: one pass over the items. */
export interface InputThreadPlan {
  items: ImageSource[];
  order: number[][];
  options: Omit<PrepareOptions, 'onBrokenImage'>;
  /** Report broken images and go on (the caller gave onBrokenImage), or end the pass with the error. */
  reportBroken: boolean;
}

/** What the input thread says, in order: batches and broken images, then the end or an error. */
export type InputThreadMessage =
  | { type: 'batch'; batch: PreparedBatch }
  | { type: 'broken'; path: string; name: string; message: string }
  | { type: 'end' }
  | { type: 'error'; name: string; message: string };

/** Limits how many async tasks run at once. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** The batches of `order` (item indices per batch), in order; stop early with `break`. */
export async function* preparedBatches(
  items: readonly ImageSource[],
  order: readonly (readonly number[])[],
  options: PrepareOptions,
): AsyncGenerator<PreparedBatch> {
  const { size, mode, cacheDir, onBrokenImage } = options;
  const limit = limiter(Math.max(1, options.concurrency));
  const prepare = async (indices: readonly number[]): Promise<PreparedBatch> => {
    const results = await Promise.all(
      indices.map((i) =>
        limit(async () => {
          const item = items[i]!;
          try {
            return await preprocessImage(item, { size, mode, cacheDir });
          } catch (err) {
            if (!onBrokenImage) throw err;
            onBrokenImage(item.path, err as Error);
            return null;
          }
        }),
      ),
    );
    return {
      indices: indices.filter((_, k) => results[k] !== null),
      images: results.filter((r): r is PreprocessedImage => r !== null),
    };
  };
  const pending: Promise<PreparedBatch>[] = [];
  let next = 0;
  const start = (): void => {
    const p = prepare(order[next++]!);
    p.catch(() => undefined); // awaited below; this only stops an "unhandled rejection"
    pending.push(p);
  };
  while (pending.length > 0 || next < order.length) {
    if (pending.length === 0) start();
    const current = pending.shift()!;
    // The next `prefetch` batches are prepared while this one is awaited and used.
    while (next < order.length && pending.length < options.prefetch) start();
    yield await current;
  }
}
