// Typed hyperparameters of the two few-shot landmark heads, with the defaults the product uses
// and where each comes from, plus the progress/cancel contract their training shares.
import type { GeometricAugmentation } from '../../../src-shared/augmentRanges.js';
import type { FineTune } from '../backbones/index.js';

/** Optimisation shared by both heads: Adam + cosine schedule (paper 000, appendix D). */
export interface OptimizerConfig {
  /** Initial learning rate of Adam. */
  learningRate: number;
  /** Coupled L2 weight decay, as PyTorch's Adam(weight_decay=...) applies it. */
  weightDecay: number;
  /** Optimisation steps (one batch each). */
  steps: number;
  /**
   * Wall-clock budget in seconds (optional): training stops at `steps` or when the budget is
   * spent, whichever comes first, and the cosine schedule follows whichever is further along.
   */
  budgetSeconds?: number;
  batchSize: number;
}

export interface PaperHeadConfig extends OptimizerConfig {
  /**
   * Intermediate heatmaps per target landmark. Paper 000 Sec. 4.1 uses 50 ("50 filters of size
   * 1x1xC ... converted to spatial coordinates by soft-argmax ... converted to the target landmark
   * by a linear layer"), trained on thousands of labels or 45-120 epochs of 1000 TPS-warped
   * samples; paper 001 Sec. 4.1 finds the number not critical. With 20 labels the linear layer
   * over 50 points overfits: held-out ratio to the mean shape on demo crops (20 labels, random-init
   * ResNet-18, 300 TPS steps) 0.74 with 50, 0.75 with 5, 0.63 with 1 (bench/README.md). 1 keeps
   * the same model, a soft-argmax point per landmark and a 2x2 linear map with bias.
   */
  intermediateHeatmaps: number;
  /**
   * Thin-plate-spline warps of the labeled images each step: paper 000 uses them in the few-label
   * regime on faces (appendix D) and none on CUB. 'none' lets features be computed once.
   */
  augmentation: 'tps' | 'none';
  /** Network input side in pixels (paper 000 Sec. 4.1: 96x96 crops). */
  inputSize: number;
  /** Hypercolumn grid side (paper 000 Sec. 4.1: 48x48, as DVE). */
  featureGridSize: number;
  /**
   * Sharpness of the intermediate heatmaps: filter responses (scaled by 1/sqrt(C)) are multiplied
   * by this before the spatial softmax. The papers' evaluation code uses softargmax_mul = 100
   * (DVE's regressor 50); measured on demo crops (1 heatmap, 600 TPS steps): 0.68 with 50, 0.57
   * with 100, 0.56 with 200.
   */
  softargmaxMultiplier: number;
}

/**
 * Paper 000 appendix D ("Training details of linear regression"), few-label regime: Adam, cosine
 * schedule, TPS augmentation, and its code's smooth-L1 loss (heads/paperHead.ts). The schedule is
 * longer than ours used to be because the paper's is: its code repeats the few labeled images to
 * 1000 TPS-warped samples per epoch for 45-120 epochs. On demo crops (20 labels, 1 heatmap,
 * batch 8) the held-out ratio goes 0.63 / 0.57 / 0.54 at 300 / 600 / 1200 steps (1200 steps took
 * 230-310 s on this 2-core machine with other work running; not yet timed on an idle one).
 * Learning rate: the paper's 0.01 gives 0.67 against 0.63 with 0.003 (0.74 with 0.001).
 * Weight decay: the paper's 0.05 is coupled L2 on DVE's raw filters, whose responses are then
 * multiplied by 50; ours are scaled by softargmaxMultiplier / sqrt(C), so the same 0.05 penalises
 * the effective filters ~1000x harder and held them at ~0 (the head then predicted the mean
 * shape even on its training crops). 5e-4, the paper's value with full annotations, measures the
 * same as 0 here (0.627 both).
 */
export const PAPER_HEAD_DEFAULTS: PaperHeadConfig = {
  learningRate: 0.003,
  weightDecay: 5e-4,
  steps: 1200,
  batchSize: 8,
  intermediateHeatmaps: 1,
  augmentation: 'tps',
  inputSize: 96,
  featureGridSize: 48,
  softargmaxMultiplier: 100,
};

export interface HeatmapHeadConfig extends OptimizerConfig {
  /** Deepest backbone stage used (ResNet-18 'conv3_x' = torchvision's layer2: stride 8, 128 channels). */
  backboneStage: string;
  /** Which backbone stages train: none (frozen), the last used stage only, or all. */
  fineTune: FineTune;
  /** Channels of the decoder's 3x3 convolutions. */
  decoderChannels: number;
  /** Heatmap stride relative to the network input (the decoder upsamples bilinearly to it). */
  outputStride: 2 | 4;
  /** Longer side of the letterboxed network input, in pixels (128-256 for full frames). */
  inputSize: number;
  /**
   * Side of the square crops training steps see, cut from the augmented letterboxed input around
   * the labeled object (null = the whole input). The network is fully convolutional, so it
   * predicts on the whole input while a training step costs (crop / input)^2 of a full one: on
   * demo frames, 128-pixel crops of a 256-pixel letterbox keep landmarks ~3.6 px apart that a
   * 128-pixel letterbox merges (~1.8 px), at the cost of a 128-pixel step.
   */
  trainCropSize: number | null;
  /** Standard deviation of the Gaussian target, in heatmap cells. */
  sigma: number;
  augmentation: {
    /** Rotation range, degrees either side of upright. */
    rotationDegrees: number;
    /** Scale range [min, max]. */
    scale: [number, number];
    /**
     * Shift of the object from its labeled place, fractions of the input side along x and y;
     * 'anywhere': wherever it fits in the training crop (GeometricAugmentation.translate).
     */
    translate: [number, number] | 'anywhere';
    /** Probability of a horizontal flip (swapping flip partners). */
    flipProbability: number;
    /** Brightness and contrast jitter (fraction either side of 1). */
    brightness: number;
    contrast: number;
  };
}

/**
 * Defaults of a head trained directly (tests, benches): the fixed recipe for free-moving animals.
 * Training runs replace its geometric ranges with those chosen from their labels
 * (src-shared/augmentRanges.ts, heatmapAugmentation below).
 */
export const HEATMAP_HEAD_DEFAULTS: HeatmapHeadConfig = {
  learningRate: 1e-3,
  weightDecay: 1e-4,
  steps: 600,
  batchSize: 8,
  backboneStage: 'conv3_x',
  fineTune: 'all',
  decoderChannels: 64,
  outputStride: 4,
  inputSize: 256,
  trainCropSize: 128,
  sigma: 1.5,
  augmentation: {
    rotationDegrees: 180,
    scale: [0.8, 1.25],
    translate: 'anywhere',
    flipProbability: 0.5,
    brightness: 0.2,
    contrast: 0.2,
  },
};

/** A heatmap head's whole configuration: `overrides` on the defaults, augmentation field by field. */
export function resolveHeatmapHeadConfig(overrides: Partial<HeatmapHeadConfig> = {}): HeatmapHeadConfig {
  return {
    ...HEATMAP_HEAD_DEFAULTS,
    ...overrides,
    augmentation: { ...HEATMAP_HEAD_DEFAULTS.augmentation, ...overrides.augmentation },
  };
}

/** The heatmap head's augmentation with these geometric ranges (flips at the default rate when on). */
export function heatmapAugmentation(geometric: GeometricAugmentation): HeatmapHeadConfig['augmentation'] {
  const defaults = HEATMAP_HEAD_DEFAULTS.augmentation;
  return {
    ...defaults,
    rotationDegrees: geometric.rotationDegrees,
    scale: geometric.scale,
    translate: geometric.translate,
    flipProbability: geometric.flip ? defaults.flipProbability : 0,
  };
}

export interface TrainProgress {
  /** Steps done (1-based). */
  step: number;
  totalSteps: number;
  loss: number;
  learningRate: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface TrainControl {
  onProgress?: (progress: TrainProgress) => void;
  /** Report every n steps (the last step is always reported). */
  progressEvery?: number;
  /** Aborting stops training before the next step and rejects with an AbortError. */
  signal?: AbortSignal;
}
