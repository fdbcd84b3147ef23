// Prediction with a trained few-shot head over image files: batches are decoded ahead (the
// image pipeline's BatchLoader), run through the model, and mapped back to ORIGINAL image pixels
// through each image's input transform. Unreadable images are reported, not fatal.
import type { Tensor4D } from '@tensorflow/tfjs';
import type { CropBox } from '../../src-shared/domain.js';
import {
  clampToRegion,
  inputBounds,
  toOriginalPoint,
  type InputTransform,
  type ResizeMode,
} from '../../src-shared/geometry.js';
import { BatchLoader, type ImageBatch } from './image/batchLoader.js';
import type { ImageSource } from './image/preprocess.js';
import type { Taps } from './backbones/index.js';

/** Per image and keypoint, a probability map over the input's output grid: [B, K, height, width]. */
export interface HeatmapBatch {
  width: number;
  height: number;
  values: Float32Array;
}

/** What both heads offer prediction: input-pixel coordinates and a confidence per point. */
export interface LandmarkPredictor {
  readonly keypointCount: number;
  /** Side of the square network input and how images are fitted into it. */
  readonly inputSize: number;
  readonly resizeMode: ResizeMode;
  /**
   * images [B, S, S, 3] RGB in [0, 1] (not disposed) -> coords [B*K*2] (x, y in input pixels)
   * and confidence [B*K] in [0, 1]. Returns plain arrays: no tensor outlives the call.
   */
  predictInput(
    images: Tensor4D,
    onTaps?: (taps: Taps) => void,
  ): { coords: Float32Array; confidence: Float32Array; heatmaps?: HeatmapBatch };
  /**
   * Backbone stages whose outputs for the ImageNet-normalised inputs predictInput passes to onTaps
   * during the call; absent where the head passes none.
   */
  readonly tapStages?: readonly string[];
}

export interface PredictedPoint {
  /** Original image pixels (pixel centres at +0.5, src-shared/geometry.ts). */
  x: number;
  y: number;
  confidence: number;
}

export interface PredictItem extends ImageSource {
  id: string | number;
}

export interface ImagePrediction {
  id: string | number;
  points: PredictedPoint[];
  /** Heads with heatmaps (the heatmap head): one map per keypoint over `bounds` (original pixels). */
  heatmaps?: { width: number; height: number; bounds: CropBox; maps: Float32Array[] };
}

export interface PredictOptions {
  batchSize?: number;
  /** Size of the first batch where it differs (BatchLoader). */
  firstBatchSize?: number;
  cacheDir?: string | null;
  signal?: AbortSignal;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Sees each batch's network inputs and the backbone's outputs on them (the model's tapStages, or
   * null where it has none; all disposed after the call), with its rows' items and input
   * transforms: work on the same inputs (the matching maps) without decoding the files again or
   * running the backbone twice.
   */
  onBatch?: (images: Tensor4D, taps: Taps | null, rows: { id: string | number; transform: InputTransform }[]) => void;
  /**
   * Each batch's predictions as they are made. Given, the report keeps none of them, so memory
   * stays flat over any number of images (a prediction run stores each batch as it comes).
   */
  onPredicted?: (predictions: ImagePrediction[]) => void | Promise<void>;
  /** Work to finish before the first batch is predicted; the first batches are read meanwhile. */
  prepare?: () => Promise<void>;
}

export interface PredictionReport {
  predictions: ImagePrediction[];
  /** Images that could not be predicted, with the reason. */
  problems: string[];
}

/** Images per prediction batch (8 and 32 measured no faster here: bench/README, prediction throughput). */
export const PREDICT_BATCH_SIZE = 16;

export async function predictLandmarks(
  model: LandmarkPredictor,
  items: readonly PredictItem[],
  options: PredictOptions = {},
): Promise<PredictionReport> {
  const problems: string[] = [];
  const predictions: ImagePrediction[] = [];
  const loader = new BatchLoader(items, {
    size: model.inputSize,
    mode: model.resizeMode,
    batchSize: options.batchSize ?? PREDICT_BATCH_SIZE,
    firstBatchSize: options.firstBatchSize,
    cacheDir: options.cacheDir,
    onBrokenImage: (path, error) => problems.push(`${path} cannot be read: ${error.message}`),
    // predictInput holds this thread for a whole batch: the next batches' files are read and
    // decoded meanwhile on the input thread.
    thread: true,
  });
  const k = model.keypointCount;
  let done = 0;
  const batches = loader.epoch();
  // Asking for the first batch starts the input thread reading while `prepare` runs; a failure
  // to read is reported when the batch is awaited, after it.
  const first = batches.next();
  first.catch(() => undefined);
  try {
    await options.prepare?.();
  } catch (err) {
    await first.then((r) => r.done || r.value.images.dispose()).catch(() => undefined);
    await batches.return(undefined);
    throw err;
  }
  try {
    for (let next = first; ; next = batches.next()) {
      const { done: ended, value: batch } = await next;
      if (ended) break;
      const made = predictBatch(batch);
      if (options.onPredicted) await options.onPredicted(made);
      else predictions.push(...made);
      done += batch.indices.length;
      options.onProgress?.(done, items.length);
    }
  } finally {
    // Stops the input thread when a batch fails (a for-await loop would do it on leaving).
    await batches.return(undefined);
  }
  return { predictions, problems };

  function predictBatch(batch: ImageBatch): ImagePrediction[] {
    let out;
    try {
      if (options.signal?.aborted)
        throw Object.assign(new Error(`prediction cancelled after ${done} images`), { name: 'AbortError' });
      const { onBatch } = options;
      const rows = batch.indices.map((itemIndex, row) => ({
        id: items[itemIndex]!.id,
        transform: batch.transforms[row]!,
      }));
      let seen = false;
      out = model.predictInput(
        batch.images,
        onBatch &&
          ((taps) => {
            seen = true;
            onBatch(batch.images, taps, rows);
          }),
      );
      if (onBatch && !seen) onBatch(batch.images, null, rows);
    } finally {
      batch.images.dispose();
    }
    const made: ImagePrediction[] = [];
    batch.indices.forEach((itemIndex, row) => {
      const points: PredictedPoint[] = [];
      for (let j = 0; j < k; j++) {
        const o = (row * k + j) * 2;
        const transform = batch.transforms[row]!;
        const [x, y] = clampToRegion(
          transform.region,
          toOriginalPoint(transform, [out.coords[o]!, out.coords[o + 1]!]),
        );
        points.push({ x, y, confidence: out.confidence[row * k + j]! });
      }
      const heatmaps = out.heatmaps;
      const cells = heatmaps ? heatmaps.width * heatmaps.height : 0;
      made.push({
        id: items[itemIndex]!.id,
        points,
        ...(heatmaps && {
          heatmaps: {
            width: heatmaps.width,
            height: heatmaps.height,
            bounds: inputBounds(batch.transforms[row]!),
            maps: Array.from({ length: k }, (_, j) =>
              heatmaps.values.slice((row * k + j) * cells, (row * k + j + 1) * cells),
            ),
          },
        }),
      });
    });
    return made;
  }
}
