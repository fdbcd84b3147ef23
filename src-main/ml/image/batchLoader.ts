// Batches of network inputs for training and prediction, decoded ahead of use: while the caller
// trains on batch n, batches n+1 .. n+prefetch are being read, decoded (sharp's worker threads)
// and resized (inputBatches.ts; on a thread of their own with `thread`), so the device does not
// wait on image decoding.
import type { Tensor4D } from '@tensorflow/tfjs';
import { toInputPoints, type InputTransform, type MaybePoint, type ResizeMode } from '../../../src-shared/geometry.js';
import { createRng, mixSeed } from '../../../src-shared/random.js';
import { startWorkerThread } from '../workerThread.js';
import { pixelsToTensor } from './normalize.js';
import {
  preparedBatches,
  type InputThreadMessage,
  type InputThreadPlan,
  type PreparedBatch,
  type PrepareOptions,
} from './inputBatches.js';
import type { ImageSource } from './preprocess.js';

export interface LoaderItem extends ImageSource {
  /** Per-keypoint points in original image pixels (null = absent); returned in input pixels. */
  points?: readonly MaybePoint[];
}

export interface BatchLoaderOptions {
  /** Side of the square network input, pixels. */
  size: number;
  mode: ResizeMode;
  batchSize: number;
  /**
   * Size of the first batch where it differs (prediction puts the matching references together
   * in it); not with `shuffle` or `dropLast`.
   */
  firstBatchSize?: number;
  /** The project's cache/ folder; null/undefined = no on-disk cache. */
  cacheDir?: string | null;
  /** Reshuffle every epoch (order depends only on seed and epoch number). Default false. */
  shuffle?: boolean;
  seed?: number;
  /** Leave out a last, smaller batch. Default false. */
  dropLast?: boolean;
  /** Batches prepared ahead of the one being used. Default 2. */
  prefetch?: number;
  /** Images decoded at the same time (bounds memory with huge photos). Default 4. */
  concurrency?: number;
  /**
   * Without it a broken image ends the epoch with its ImageDecodeError. With it the image is
   * reported here and left out (that batch is then smaller).
   */
  onBrokenImage?: (path: string, error: Error) => void;
  /**
   * Prepare the batches on a thread of their own (inputBatchWorker.ts), for callers whose thread
   * spends long synchronous stretches in TensorFlow calls (prediction): on this thread, each
   * image's read, decode and cache steps would wait for those to end. Default false.
   */
  thread?: boolean;
}

export interface ImageBatch {
  /** [B, size, size, 3] float32 RGB in [0, 1]. The caller disposes it. */
  images: Tensor4D;
  /** Index in the loader's items of each row. */
  indices: number[];
  /** Original <-> input pixel maps, one per row. */
  transforms: InputTransform[];
  /** Each row's points in input pixels ([] when the item had none). */
  points: MaybePoint[][];
}

export class BatchLoader {
  constructor(
    readonly items: readonly LoaderItem[],
    readonly options: BatchLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    const { firstBatchSize } = options;
    if (firstBatchSize !== undefined && !(Number.isInteger(firstBatchSize) && firstBatchSize >= 1))
      throw new Error(`firstBatchSize must be a positive integer, got ${firstBatchSize}`);
    if (firstBatchSize !== undefined && (options.shuffle || options.dropLast))
      throw new Error('firstBatchSize is for passes in order that keep the last batch (no shuffle, no dropLast)');
    if (options.prefetch !== undefined && !(Number.isInteger(options.prefetch) && options.prefetch >= 0))
      throw new Error(`prefetch must be a non-negative integer, got ${options.prefetch}`);
  }

  get batchesPerEpoch(): number {
    const { batchSize, firstBatchSize } = this.options;
    const count = this.items.length;
    if (firstBatchSize !== undefined)
      return count === 0 ? 0 : 1 + Math.ceil(Math.max(0, count - firstBatchSize) / batchSize);
    return this.options.dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** Item indices of each batch of epoch `epoch`. */
  batchOrder(epoch = 0): number[][] {
    const indices = this.items.map((_, i) => i);
    const order = this.options.shuffle ? createRng(mixSeed(this.options.seed ?? 0, epoch)).shuffled(indices) : indices;
    const { batchSize, firstBatchSize } = this.options;
    // Where batch i starts: the first batch may have a size of its own.
    const start = (i: number): number =>
      firstBatchSize === undefined || i === 0 ? i * batchSize : firstBatchSize + (i - 1) * batchSize;
    const batches: number[][] = [];
    for (let i = 0; i < this.batchesPerEpoch; i++) batches.push(order.slice(start(i), start(i + 1)));
    return batches;
  }

  /** One pass over the items; stop early with `break` (prefetched work is simply dropped). */
  async *epoch(epoch = 0): AsyncGenerator<ImageBatch> {
    const { size, mode, cacheDir, onBrokenImage } = this.options;
    const options: PrepareOptions = {
      size,
      mode,
      cacheDir,
      concurrency: this.options.concurrency ?? 4,
      prefetch: this.options.prefetch ?? 2,
      onBrokenImage,
    };
    const order = this.batchOrder(epoch);
    const prepared = this.options.thread
      ? preparedOnInputThread(this.items, order, options)
      : preparedBatches(this.items, order, options);
    for await (const batch of prepared) if (batch.images.length > 0) yield this.toBatch(batch);
  }

  private toBatch(prepared: PreparedBatch): ImageBatch {
    const { size } = this.options;
    const transforms = prepared.images.map((p) => p.transform);
    return {
      images: pixelsToTensor(
        prepared.images.map((p) => p.data),
        size,
        size,
      ),
      indices: prepared.indices,
      transforms,
      points: prepared.indices.map((i, k) => toInputPoints(transforms[k]!, this.items[i]!.points ?? [])),
    };
  }
}

/** preparedBatches on the input thread: the same batches, in order, with the same errors. */
async function* preparedOnInputThread(
  items: readonly LoaderItem[],
  order: number[][],
  { onBrokenImage, ...options }: PrepareOptions,
): AsyncGenerator<PreparedBatch> {
  const plan: InputThreadPlan = {
    items: items.map(({ path, crop, hash }) => ({ path, crop, hash })),
    order,
    options,
    reportBroken: onBrokenImage !== undefined,
  };
  const worker = startWorkerThread('inputBatchWorker', import.meta.dirname, plan);
  const messages: InputThreadMessage[] = [];
  let wake: (() => void) | null = null;
  const arrive = (message: InputThreadMessage): void => {
    messages.push(message);
    wake?.();
  };
  worker.on('message', arrive);
  worker.on('error', (err) =>
    arrive({ type: 'error', name: err.name, message: `input thread failed: ${err.message}` }),
  );
  worker.on('exit', (code) =>
    arrive({ type: 'error', name: 'Error', message: `input thread exited with code ${code}` }),
  );
  const asError = (m: { name: string; message: string }): Error =>
    Object.assign(new Error(m.message), { name: m.name });
  try {
    for (;;) {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = messages.shift()!;
      if (message.type === 'end') return;
      if (message.type === 'error') throw asError(message);
      if (message.type === 'broken') onBrokenImage!(message.path, asError(message));
      else {
        worker.postMessage('take');
        yield message.batch;
      }
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}
