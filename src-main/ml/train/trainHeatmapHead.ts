// Trains the heatmap head (heads/heatmapHead.ts) end to end on letterboxed labeled frames with
// strong geometric augmentation and brightness/contrast jitter, on batches a worker thread makes
// ahead (heatmapBatches.ts).
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { flipPermutation, type ResizeMode } from '../../../src-shared/geometry.js';
import type { Backbone, Taps } from '../backbones/index.js';
import { tf } from '../engine.js';
import { fitDistancePrior, type DistancePrior } from '../heads/distancePrior.js';
import { HeatmapHead, type HeatmapHeadSpec } from '../heads/heatmapHead.js';
import { normalizeImageNet } from '../image/normalize.js';
import type { LandmarkPredictor } from '../predict.js';
import { resolveHeatmapHeadConfig, type HeatmapHeadConfig, type TrainControl } from './config.js';
import { HeatmapBatchWorker } from './heatmapBatches.js';
import { loadLabeledExamples, type LabeledItem } from './labeledExamples.js';
import { runTrainLoop } from './trainLoop.js';
import { trainingReport, type TrainingReport } from './trainPaperHead.js';

export interface HeatmapHeadTrainingInput {
  /** Random init or weights from any run (loadWeightsInto); trained in place per `fineTune`. */
  backbone: Backbone;
  items: readonly LabeledItem[];
  keypointCount: number;
  /** Left/right partner index pairs, swapped by flips. */
  flipPairs?: readonly (readonly [number, number])[];
  config?: Partial<HeatmapHeadConfig>;
  cacheDir?: string | null;
  seed?: number;
}

/** A trained heatmap head: ready to predict. */
export class HeatmapLandmarkModel implements LandmarkPredictor {
  readonly keypointCount: number;
  readonly resizeMode: ResizeMode = 'letterbox';

  /**
   * distancePrior: how far apart the landmarks were labeled (heads/distancePrior.ts); decoding
   * believes the peaks that fit it together. Null: each map's own peak (models saved before it).
   */
  constructor(
    readonly head: HeatmapHead,
    readonly inputSize: number,
    readonly distancePrior: DistancePrior | null = null,
  ) {
    this.keypointCount = head.spec.keypointCount;
  }

  get tapStages(): readonly string[] {
    return this.head.tapStages;
  }

  predictInput(images: Tensor4D, onTaps?: (taps: Taps) => void): { coords: Float32Array; confidence: Float32Array } {
    const logits = tf.tidy(() => this.head.logits(normalizeImageNet(images), false, 'none', onTaps));
    try {
      return this.head.decode(logits, this.distancePrior);
    } finally {
      logits.dispose();
    }
  }

  /** Disposes the decoder only: the backbone belongs to the caller. */
  dispose(): void {
    this.head.dispose();
  }
}

/** The head a training config builds, for `keypointCount` keypoints. */
export function heatmapHeadSpec(config: HeatmapHeadConfig, keypointCount: number): HeatmapHeadSpec {
  return {
    keypointCount,
    stage: config.backboneStage,
    decoderChannels: config.decoderChannels,
    outputStride: config.outputStride,
    sigma: config.sigma,
  };
}

interface HeatmapBatch {
  images: Tensor4D;
  targets: Tensor4D;
  mask: Tensor2D;
}

export async function trainHeatmapHead(
  input: HeatmapHeadTrainingInput,
  control: TrainControl = {},
): Promise<{ model: HeatmapLandmarkModel; report: TrainingReport }> {
  const config = resolveHeatmapHeadConfig(input.config);
  const k = input.keypointCount;
  const set = await loadLabeledExamples(input.items, {
    inputSize: config.inputSize,
    mode: 'letterbox',
    keypointCount: k,
    cacheDir: input.cacheDir,
  });
  const head = new HeatmapHead(input.backbone, heatmapHeadSpec(config, k), input.seed ?? 1);
  const inputSize = config.inputSize;
  const size = Math.min(config.trainCropSize ?? inputSize, inputSize);
  const cells = Math.ceil(size / config.outputStride);
  const trainable = [...head.decoderTrainable(), ...head.backboneTrainable(config.fineTune)];
  let batches: HeatmapBatchWorker | null = null;
  try {
    const source = new HeatmapBatchWorker({
      examples: set.examples,
      inputSize,
      cropSize: size,
      keypointCount: k,
      flipPermutation: flipPermutation(k, input.flipPairs ?? []),
      config,
      seed: input.seed ?? 1,
    });
    batches = source;
    const result = await runTrainLoop<HeatmapBatch>(
      {
        optimizer: config,
        trainable,
        // Conv kernels only (rank 4): decaying batch-norm scales and biases only hurts.
        decayed: trainable.filter((v) => v.rank === 4),
        makeBatch: async () => {
          const { count, images, targets, mask } = await source.next();
          return {
            images: tf.tensor4d(images, [count, size, size, 3]),
            targets: tf.tensor4d(targets, [count, k, cells, cells]),
            mask: tf.tensor2d(mask, [count, k]),
          };
        },
        batchImages: (batch) => batch.images.shape[0],
        loss: (batch) => head.loss(head.logits(batch.images, true, config.fineTune), batch.targets, batch.mask),
        disposeBatch: (batch) => tf.dispose([batch.images, batch.targets, batch.mask]),
        // Steps after the first run as one TensorFlow graph (graphStep.ts): ~1.4x faster here.
        reads: [...head.weights.values()],
        batchTensors: (batch) => [batch.images, batch.targets, batch.mask],
      },
      control,
    );
    const prior = fitDistancePrior(
      set.examples.map((e) => e.points.map((p, j) => (e.mask[j] ? p : null))),
      inputSize,
      config.augmentation.scale,
    );
    return { model: new HeatmapLandmarkModel(head, inputSize, prior), report: trainingReport(result, set) };
  } catch (err) {
    head.dispose();
    throw err;
  } finally {
    await batches?.close();
  }
}
