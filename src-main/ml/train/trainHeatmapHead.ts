// Trains the heatmap head (heads/heatmapHead.ts) end to end on letterboxed labeled frames with
// strong geometric augmentation: rotation +-180 degrees, scale 0.8-1.25, horizontal flips that
// swap flip partners, and translation "anywhere": after rotating and scaling about the centre,
// the labeled points' bounding box is moved to a uniformly random position where it still fits
// in the input (a plain +-t shift would push small, off-centre objects out of the frame and
// waste those examples). Then brightness/contrast jitter.
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import {
  applyAffineToPoints,
  chainAffine,
  flipPermutation,
  permute,
  translation,
  type Affine,
  type MaybePoint,
  type ResizeMode,
} from '../../../src-shared/geometry.js';
import { createRng, type Rng } from '../../../src-shared/random.js';
import { sampleAffineAugment, warpAffine } from '../augment/affine.js';
import { photometricJitter, type PhotometricConfig } from '../augment/photometric.js';
import type { Backbone } from '../backbones/index.js';
import { tf } from '../engine.js';
import { HeatmapHead } from '../heads/heatmapHead.js';
import { normalizeImageNet } from '../image/normalize.js';
import type { LandmarkPredictor } from '../predict.js';
import { batchSchedule, pointTensors } from './batches.js';
import { HEATMAP_HEAD_DEFAULTS, type HeatmapHeadConfig, type TrainControl } from './config.js';
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

  constructor(
    readonly head: HeatmapHead,
    readonly inputSize: number,
  ) {
    this.keypointCount = head.spec.keypointCount;
  }

  predictInput(images: Tensor4D): { coords: Float32Array; confidence: Float32Array } {
    const logits = tf.tidy(() => this.head.logits(normalizeImageNet(images), false, 'none'));
    try {
      return this.head.decode(logits);
    } finally {
      logits.dispose();
    }
  }

  /** Disposes the decoder only: the backbone belongs to the caller. */
  dispose(): void {
    this.head.dispose();
  }
}

interface HeatmapBatch {
  images: Tensor4D;
  targets: Tensor4D;
  mask: Tensor2D;
}

/** Brightness/contrast only: hue, saturation, grayscale and blur change what a landmark looks like. */
function photometricConfig(config: HeatmapHeadConfig): PhotometricConfig {
  const { brightness, contrast } = config.augmentation;
  return {
    jitterProb: 1,
    brightness,
    contrast,
    saturation: 0,
    hue: 0,
    grayscaleProb: 0,
    blurProb: 0,
    blurSigma224: [0.1, 2],
  };
}

/**
 * A random rotation/scale/flip about the centre of the inputSize x inputSize letterbox, then a
 * translation that puts the points' box anywhere it fits in the size x size output; a box larger
 * than the output is placed so that a random part of it is in view (over the steps every landmark
 * is). size < inputSize makes the output a training crop around the object.
 */
export function sampleAugmentation(
  rng: Rng,
  points: readonly MaybePoint[],
  inputSize: number,
  size: number,
  config: HeatmapHeadConfig,
): { matrix: Affine; flipped: boolean } {
  const { rotationDegrees, scale, flipProbability } = config.augmentation;
  const base = sampleAffineAugment(rng, inputSize, inputSize, {
    translate: 0,
    rotateDeg: rotationDegrees,
    scale,
    flipProb: flipProbability,
  });
  const moved = applyAffineToPoints(base.matrix, points).filter((p): p is [number, number] => p !== null);
  if (moved.length === 0) return base;
  const shift = (values: number[]): number => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    // Keep a 1-pixel margin so a point on the box edge stays strictly inside.
    return hi - lo < size - 2 ? rng.uniform(1 - lo, size - 1 - hi) : rng.uniform(1 - hi, size - 1 - lo);
  };
  return {
    matrix: chainAffine(base.matrix, translation(shift(moved.map((p) => p[0])), shift(moved.map((p) => p[1])))),
    flipped: base.flipped,
  };
}

export async function trainHeatmapHead(
  input: HeatmapHeadTrainingInput,
  control: TrainControl = {},
): Promise<{ model: HeatmapLandmarkModel; report: TrainingReport }> {
  const config: HeatmapHeadConfig = {
    ...HEATMAP_HEAD_DEFAULTS,
    ...input.config,
    augmentation: { ...HEATMAP_HEAD_DEFAULTS.augmentation, ...input.config?.augmentation },
  };
  const k = input.keypointCount;
  const flipPerm = flipPermutation(k, input.flipPairs ?? []);
  const set = await loadLabeledExamples(input.items, {
    inputSize: config.inputSize,
    mode: 'letterbox',
    keypointCount: k,
    cacheDir: input.cacheDir,
  });
  const head = new HeatmapHead(
    input.backbone,
    {
      keypointCount: k,
      stage: config.backboneStage,
      decoderChannels: config.decoderChannels,
      outputStride: config.outputStride,
      sigma: config.sigma,
    },
    input.seed ?? 1,
  );
  const rng = createRng(input.seed ?? 1);
  const examples = set.examples;
  const inputSize = config.inputSize;
  const size = Math.min(config.trainCropSize ?? inputSize, inputSize);
  const cells = Math.ceil(size / config.outputStride);
  const backboneVars = head.backboneTrainable(config.fineTune);
  const trainable = [...head.decoderTrainable(), ...backboneVars];
  const order = batchSchedule(examples.length, config.batchSize, rng);
  try {
    const result = await runTrainLoop<HeatmapBatch>(
      {
        optimizer: config,
        trainable,
        // Conv kernels only (rank 4): decaying batch-norm scales and biases only hurts.
        decayed: trainable.filter((v) => v.rank === 4),
        makeBatch: (step) => {
          const chosen = order(step).map((i) => examples[i]!);
          const augmentations = chosen.map((e) => sampleAugmentation(rng, e.points, inputSize, size, config));
          const points = chosen.map((e, i) => {
            const moved = applyAffineToPoints(augmentations[i]!.matrix, e.points);
            return augmentations[i]!.flipped ? permute(moved, flipPerm) : moved;
          });
          const masks = chosen.map((e, i) => (augmentations[i]!.flipped ? permute(e.mask, flipPerm) : e.mask));
          return tf.tidy(() => {
            const warped = warpAffine(
              { pixels: chosen.map((e) => e.pixels), height: inputSize, width: inputSize },
              augmentations.map((a) => a.matrix),
              size,
              size,
            );
            const images = normalizeImageNet(photometricJitter(warped, rng, photometricConfig(config)));
            const { targets: pointTargets, mask } = pointTensors(points, masks, size);
            const targets = head.gaussianTargets(
              pointTargets.dataSync() as Float32Array,
              mask.dataSync() as Float32Array,
              chosen.length,
              cells,
              cells,
            );
            return { images, targets, mask };
          });
        },
        batchImages: (batch) => batch.images.shape[0],
        loss: (batch) => head.loss(head.logits(batch.images, true, config.fineTune), batch.targets, batch.mask),
        disposeBatch: (batch) => tf.dispose([batch.images, batch.targets, batch.mask]),
      },
      control,
    );
    return { model: new HeatmapLandmarkModel(head, inputSize), report: trainingReport(result, set) };
  } catch (err) {
    head.dispose();
    throw err;
  }
}
