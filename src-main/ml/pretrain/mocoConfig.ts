// Hyperparameters of MoCo v2 pretraining (paper 000 Sec. 4.1 and appendix D, which train with
// MoCo [He et al. 2020] through Tian et al.'s CMC code), with the defaults the product uses, each
// with its source, and their validation against the folder being pretrained on.
import { DEFAULT_PHOTOMETRIC, type PhotometricConfig } from '../augment/photometric.js';
import { DEFAULT_TPS, type TpsConfig } from '../augment/tps.js';
import type { BackboneConfig } from '../backbones/index.js';

export interface MocoConfig {
  /** Paper 000 Sec. 4.1: ResNet-18 or ResNet-50. */
  backbone: BackboneConfig;
  /** Side of the square network input (the views), in pixels. Paper 000 Sec. 4.1: 96x96. */
  inputSize: number;
  /** Images per step. Paper 000 appendix D uses 256 on GPUs; 32 fits a CPU step in memory. */
  batchSize: number;
  /** Negatives kept in the queue. Paper 000 Sec. 4.1: "a dictionary size of 4096". */
  queueSize: number;
  /** Softmax temperature of InfoNCE (Eq. 5 divided by tau). MoCo v1 / CMC default 0.07. */
  temperature: number;
  /** Key-encoder EMA coefficient m in theta_k <- m theta_k + (1 - m) theta_q (MoCo Eq. 2). */
  keyMomentum: number;
  /** Hidden width of the 2-layer MLP head; null = the backbone's feature width (512 / 2048, MoCo v2). */
  projectionHidden: number | null;
  /** Embedding width after the head (MoCo v2: 128). */
  projectionDim: number;
  /** SGD base learning rate (MoCo: 0.03 for batch 256). */
  learningRate: number;
  /** SGD momentum (MoCo: 0.9). */
  sgdMomentum: number;
  /** Coupled L2 weight decay added to the gradient (MoCo: 1e-4). */
  weightDecay: number;
  /**
   * Steps of linear learning-rate warm-up before the cosine decay (Goyal et al. 2017). A folder of
   * a few hundred images gives few steps per epoch; the full lr from a random init makes the first
   * steps of a short run erratic, so the lr ramps up first. Clamped to a tenth of the run.
   */
  warmupSteps: number;
  /**
   * Sub-batches for split batch norm with a shuffled key batch, the one-device form of MoCo's
   * ShuffleBN (the official MoCo CIFAR-10 demo's SplitBatchNorm, 8 splits of batch 512). Each
   * sub-batch computes its own BN statistics, as one GPU of 8 does; keys are randomly permuted
   * before their split, so a query and its positive key are normalised over different image
   * sets and cannot match through batch statistics. Batch 32 / 4 = 8 images per sub-batch.
   */
  bnSplits: number;
  /** Random resized crop: smallest crop area as a share of the image (MoCo v2: 0.2). */
  cropMinScale: number;
  /** Random resized crop aspect-ratio range (torchvision's RandomResizedCrop: 3/4 .. 4/3). */
  cropAspect: [number, number];
  /** Colour jitter, grayscale and blur of each view: MoCo v2's (0.4, 0.4, 0.4, 0.1) p 0.8, gray p 0.2, blur p 0.5. */
  photometric: PhotometricConfig;
  /**
   * Thin-plate-spline warp of each view after the crop (paper 000 Sec. 3.1 "Transformations":
   * geometric transformations include TPS warps; DVE's warper settings). null = none.
   * No horizontal flips (MoCo v2 has them): a flip-invariant embedding would teach the network
   * that a left landmark looks like its right partner.
   */
  tps: TpsConfig | null;
}

/** MoCo v2 defaults on ResNet-18 at 96x96 (paper 000 Sec. 4.1, DESIGN "Methods" moco). */
export const MOCO_DEFAULTS: MocoConfig = {
  backbone: { arch: 'resnet18' },
  inputSize: 96,
  batchSize: 32,
  queueSize: 4096,
  temperature: 0.07,
  keyMomentum: 0.999,
  projectionHidden: null,
  projectionDim: 128,
  learningRate: 0.03,
  sgdMomentum: 0.9,
  weightDecay: 1e-4,
  warmupSteps: 100,
  bnSplits: 4,
  cropMinScale: 0.2,
  cropAspect: [3 / 4, 4 / 3],
  photometric: DEFAULT_PHOTOMETRIC,
  tps: DEFAULT_TPS,
};

export interface ResolvedMocoConfig {
  config: MocoConfig;
  /** What was changed to fit the folder, in words for the user (e.g. the queue clamp). */
  messages: string[];
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`MoCo ${name} must be a positive integer; got ${value}`);
}

function requireInOpenUnit(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new Error(`MoCo ${name} must be between 0 and 1 (exclusive); got ${value}`);
}

/**
 * Checks a config against the number of images it will train on and clamps the queue: a queue
 * longer than the folder would hold several keys of the same image, i.e. the positive's own
 * older views as negatives. Throws a message naming the bad value when training cannot work.
 */
export function resolveMocoConfig(overrides: Partial<MocoConfig>, imageCount: number): ResolvedMocoConfig {
  const config: MocoConfig = { ...MOCO_DEFAULTS, ...overrides };
  const messages: string[] = [];
  if (!Number.isInteger(imageCount) || imageCount < 2) {
    throw new Error(
      `MoCo needs at least 2 images (each image's views are contrasted with other images); the folder has ${imageCount}`,
    );
  }
  for (const key of ['inputSize', 'batchSize', 'queueSize', 'projectionDim', 'bnSplits'] as const) {
    requirePositiveInteger(key, config[key]);
  }
  if (config.projectionHidden !== null) requirePositiveInteger('projectionHidden', config.projectionHidden);
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0) {
    throw new Error(`MoCo warmupSteps must be a non-negative integer; got ${config.warmupSteps}`);
  }
  if (config.batchSize > imageCount) {
    throw new Error(
      `MoCo batch size ${config.batchSize} is larger than the ${imageCount} images to train on: use a batch of at most ${imageCount}`,
    );
  }
  if (config.batchSize < 2 * config.bnSplits) {
    throw new Error(
      `MoCo batch size ${config.batchSize} is too small for ${config.bnSplits} batch-norm sub-batches (each needs at least 2 images): ` +
        `use a batch of at least ${2 * config.bnSplits} or fewer bnSplits`,
    );
  }
  if (config.queueSize > imageCount) {
    messages.push(
      `queue of ${config.queueSize} negatives clamped to ${imageCount}, the number of images (a longer queue would hold the same image twice)`,
    );
    config.queueSize = imageCount;
  }
  if (config.queueSize < config.batchSize) {
    throw new Error(
      `MoCo queue size ${config.queueSize} is smaller than the batch size ${config.batchSize}: each step enqueues a whole batch of keys`,
    );
  }
  if (!(config.temperature > 0)) throw new Error(`MoCo temperature must be positive; got ${config.temperature}`);
  requireInOpenUnit('keyMomentum', config.keyMomentum);
  if (!(config.sgdMomentum >= 0 && config.sgdMomentum < 1))
    throw new Error(`MoCo sgdMomentum must be in [0, 1); got ${config.sgdMomentum}`);
  if (!(config.learningRate > 0)) throw new Error(`MoCo learning rate must be positive; got ${config.learningRate}`);
  if (!(config.weightDecay >= 0)) throw new Error(`MoCo weight decay must be non-negative; got ${config.weightDecay}`);
  if (!(config.cropMinScale > 0 && config.cropMinScale <= 1))
    throw new Error(`MoCo cropMinScale must be in (0, 1]; got ${config.cropMinScale}`);
  const [aspectLow, aspectHigh] = config.cropAspect;
  if (!(aspectLow > 0 && aspectLow <= aspectHigh))
    throw new Error(
      `MoCo cropAspect must be an increasing pair of positive ratios; got [${config.cropAspect.join(', ')}]`,
    );
  return { config, messages };
}

/** Hidden width of the projection head: MoCo v2 uses the backbone's feature width (512 / 2048). */
export function projectionHiddenWidth(config: MocoConfig, featureWidth: number): number {
  return config.projectionHidden ?? featureWidth;
}
