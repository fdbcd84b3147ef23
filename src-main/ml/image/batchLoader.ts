// Batches of network inputs for training and prediction, decoded ahead of use: while the caller
// trains on batch n, batches n+1 .. n+prefetch are being read, decoded (sharp's worker threads)
// and resized, so the device does not wait on image decoding.
import type { Tensor4D } from '@tensorflow/tfjs';
import { toInputPoints, type InputTransform, type MaybePoint, type ResizeMode } from '../../../src-shared/geometry.js';
import { createRng, mixSeed } from '../../../src-shared/random.js';
import { pixelsToTensor } from './normalize.js';
import { preprocessImage, type ImageSource, type PreprocessedImage } from './preprocess.js';

export interface LoaderItem extends ImageSource {
  /** Per-keypoint points in original image pixels (null = absent); returned in input pixels. */
  points?: readonly MaybePoint[];
}

export interface BatchLoaderOptions {
  /** Side of the square network input, pixels. */
  size: number;
  mode: ResizeMode;
  batchSize: number;
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

interface PreparedBatch {
  indices: number[];
  images: PreprocessedImage[];
}

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

export class BatchLoader {
  private readonly limit: <T>(task: () => Promise<T>) => Promise<T>;

  constructor(
    readonly items: readonly LoaderItem[],
    readonly options: BatchLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
    if (options.prefetch !== undefined && !(Number.isInteger(options.prefetch) && options.prefetch >= 0))
      throw new Error(`prefetch must be a non-negative integer, got ${options.prefetch}`);
    this.limit = limiter(Math.max(1, options.concurrency ?? 4));
  }

  get batchesPerEpoch(): number {
    const n = this.items.length / this.options.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Item indices of each batch of epoch `epoch`. */
  batchOrder(epoch = 0): number[][] {
    const indices = this.items.map((_, i) => i);
    const order = this.options.shuffle ? createRng(mixSeed(this.options.seed ?? 0, epoch)).shuffled(indices) : indices;
    const batches: number[][] = [];
    for (let i = 0; i < this.batchesPerEpoch; i++)
      batches.push(order.slice(i * this.options.batchSize, (i + 1) * this.options.batchSize));
    return batches;
  }

  /** One pass over the items; stop early with `break` (prefetched work is simply dropped). */
  async *epoch(epoch = 0): AsyncGenerator<ImageBatch> {
    const order = this.batchOrder(epoch);
    const ahead = this.options.prefetch ?? 2;
    const pending: Promise<PreparedBatch>[] = [];
    let next = 0;
    const start = (): void => {
      const p = this.prepare(order[next++]!);
      p.catch(() => undefined); // awaited below; this only stops an "unhandled rejection"
      pending.push(p);
    };
    while (pending.length > 0 || next < order.length) {
      if (pending.length === 0) start();
      const current = pending.shift()!;
      // The next `ahead` batches are prepared while this one is awaited and used.
      while (next < order.length && pending.length < ahead) start();
      const prepared = await current;
      if (prepared.images.length > 0) yield this.toBatch(prepared);
    }
  }

  private async prepare(indices: number[]): Promise<PreparedBatch> {
    const { size, mode, cacheDir, onBrokenImage } = this.options;
    const results = await Promise.all(
      indices.map((i) =>
        this.limit(async () => {
          const item = this.items[i]!;
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
    const kept = indices.filter((_, k) => results[k] !== null);
    return { indices: kept, images: results.filter((r): r is PreprocessedImage => r !== null) };
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
