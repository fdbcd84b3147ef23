// Dense contrastive pretraining (paper 003 Sec. 4, "Step 1", Eq. 7): two random views of each
// image whose geometry is known; K points of the image seen in both views; the feature of a point
// in one view must be closer to the same point's feature in the other view than to every other
// sampled point of the batch, in either view. Unlike MoCo's image-level InfoNCE, which teaches
// features to forget where things are, this rewards features that follow the image's geometry
// (equivariance) while telling parts apart: what a landmark regressor reads.
//
// Network: the product's backbone run up to `stage` (ResNet-18's conv3_x by default: the stem,
// layer1 and layer2 that the heatmap head fine-tunes), its `hypercolumnStages` sampled bilinearly
// at the points and concatenated, then a 2-layer MLP to unit vectors of `projectionDim` (paper 003
// uses D = 64 dense features; the MLP is SimCLR's head, which paper 003's framework follows).
// Deeper stages are not run and keep their initialisation. Both views go through the same
// network (SimCLR-style, no momentum encoder), each with its own batch-norm statistics.
//
// Views: random resized crops (area share cropMinScale..cropMaxScale, 0.2-1 as MoCo) and MoCo v2's colour jitter,
// grayscale and blur. No flips: a flip would ask a left paw to look like a right one.
import type { Scalar, Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { createRng, mixSeed, type Rng } from '../../../src-shared/random.js';
import { DEFAULT_PHOTOMETRIC, photometricJitter, type PhotometricConfig } from '../augment/photometric.js';
import {
  backboneStages,
  createBackbone,
  variablesUpTo,
  type Backbone,
  type BackboneConfig,
} from '../backbones/index.js';
import { tf } from '../engine.js';
import { normalizeImageNet } from '../image/normalize.js';
import { chanceLevelLoss } from './infoNce.js';
import type { BackboneFactory } from './moco.js';
import { warmupCosineLearningRate } from './learningRate.js';
import { createProjectionHead, type ProjectionHead } from './projectionHead.js';
import { cropAndResizeBoxes, sampleCropBox, type CropBoxSample } from './randomResizedCrop.js';
import { SgdMomentum } from './sgdMomentum.js';

export interface DenseContrastConfig {
  backbone: BackboneConfig;
  /** Deepest stage run; every stage up to it trains. */
  stage: string;
  /** Stages sampled at the points and concatenated (a hypercolumn). */
  hypercolumnStages: string[];
  /** View side in pixels. */
  inputSize: number;
  batchSize: number;
  /** Points sampled per image (paper 003's K). */
  pointsPerImage: number;
  /** Paper 003 Sec. 4.1: tau = 0.1. */
  temperature: number;
  projectionHidden: number;
  /** Paper 003 Sec. 4.1: D = 64. */
  projectionDim: number;
  learningRate: number;
  sgdMomentum: number;
  weightDecay: number;
  /** Linear warm-up steps before the cosine decay (clamped to a tenth of the run). */
  warmupSteps: number;
  /** Area share of the image a view shows: uniform in [cropMinScale, cropMaxScale]. */
  cropMinScale: number;
  cropMaxScale: number;
  cropAspect: [number, number];
  photometric: PhotometricConfig;
}

/**
 * Defaults measured on the demo data (bench/README.md, "Choosing the pretraining"): small
 * views and batches for many steps; on a CPU steps, not images per step, are what pay.
 */
export const DENSE_CONTRAST_DEFAULTS: DenseContrastConfig = {
  backbone: { arch: 'resnet18' },
  stage: 'conv3_x',
  hypercolumnStages: ['conv2_x', 'conv3_x'],
  inputSize: 48,
  batchSize: 8,
  pointsPerImage: 64,
  temperature: 0.1,
  projectionHidden: 256,
  projectionDim: 64,
  learningRate: 0.06,
  sgdMomentum: 0.9,
  weightDecay: 1e-4,
  warmupSteps: 400,
  cropMinScale: 0.2,
  cropMaxScale: 1,
  cropAspect: [3 / 4, 4 / 3],
  photometric: DEFAULT_PHOTOMETRIC,
};

/** Merges overrides into the defaults and rejects values training cannot work with. */
export function resolveDenseContrastConfig(
  overrides: Partial<DenseContrastConfig>,
  imageCount: number,
): DenseContrastConfig {
  const config: DenseContrastConfig = { ...DENSE_CONTRAST_DEFAULTS, ...overrides };
  for (const key of ['inputSize', 'batchSize', 'pointsPerImage', 'projectionHidden', 'projectionDim'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1)
      throw new Error(`dense contrastive ${key} must be a positive integer; got ${config[key]}`);
  }
  if (!Number.isInteger(imageCount) || imageCount < 1)
    throw new Error(`dense contrastive pretraining needs at least one image; the folder has ${imageCount}`);
  if (config.batchSize > imageCount)
    throw new Error(
      `batch size ${config.batchSize} is larger than the ${imageCount} images: use a batch of at most ${imageCount}`,
    );
  if (!(config.cropMinScale > 0 && config.cropMinScale <= config.cropMaxScale && config.cropMaxScale <= 1))
    throw new Error(
      `view crop scales must satisfy 0 < min <= max <= 1 (area shares of the image); got ${config.cropMinScale}-${config.cropMaxScale}`,
    );
  if (!(config.temperature > 0)) throw new Error(`temperature must be positive; got ${config.temperature}`);
  if (!config.hypercolumnStages.length)
    throw new Error('dense contrastive pretraining needs at least one hypercolumn stage');
  const names = backboneStages(config.backbone).map((s) => s.name);
  const missing = [config.stage, ...config.hypercolumnStages].find((s) => !names.includes(s));
  if (missing !== undefined) {
    throw new Error(
      `backbone ${config.backbone.arch} has no stage "${missing}" (stages: ${names.join(', ')}); dense contrastive pretraining trains ResNet's conv2_x and conv3_x: use resnet18 or resnet50`,
    );
  }
  return config;
}

/**
 * Eq. 7 of paper 003 for N points with features a (view 1) and b (view 2), unit rows [N, D]:
 *   -1/N sum_i [log p_i + log p'_i],
 *   p_i = s(a_i, b_i) / (sum_{j != i} s(a_i, a_j) + sum_j s(a_i, b_j)),  s(x, y) = exp(x.y / tau),
 * p'_i the same with a and b swapped. With z = [a; b] (2N rows) and S = z z^T / tau, each row's
 * denominator is every other row of z: the loss is the mean over the 2N rows of the cross-entropy
 * of row i of S without its diagonal, whose correct column is i's partner (SimCLR's NT-Xent).
 * Written as one [2N, 2N] matrix with its gradient by hand: with P = softmax(S) and Y the partner
 * permutation (symmetric), dL/dz = (P z + P^T z - 2 Y z) / (2N tau), and Y z is z with its halves
 * swapped. A few kernels instead of autodiff's dozens, which were a fifth of a CPU step. Rows are
 * unit vectors, so logits lie within +-1/tau and the positive's probability cannot underflow.
 */
export function denseContrastLoss(a: Tensor2D, b: Tensor2D, temperature: number): Scalar {
  return tf.tidy(() => {
    const n = a.shape[0];
    const rows = 2 * n;
    const positions = tf.tensor1d(
      Int32Array.from({ length: rows }, (_, i) => i * rows + ((i + n) % rows)),
      'int32',
    );
    const diagonal = tf.oneHot(tf.range(0, rows, 1, 'int32'), rows, -1e9, 0, 'float32');
    const loss = tf.customGrad((...args) => {
      const [z, save] = args as [Tensor2D, (tensors: Tensor[]) => void];
      // The diagonal gets a large negative logit: exp(-1e9 + ...) = 0, without -inf's NaNs.
      const logits = tf.add(tf.mul(tf.matMul(z, z, false, true), 1 / temperature), diagonal);
      const probabilities = tf.softmax(logits);
      save([z, probabilities]);
      return {
        value: tf.neg(tf.mean(tf.log(tf.gather(tf.reshape(probabilities, [-1]), positions)))),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [zs, p] = saved as [Tensor2D, Tensor2D];
          const swapped = tf.concat([tf.slice(zs, [n, 0], [n, -1]), tf.slice(zs, [0, 0], [n, -1])]);
          const sum = tf.sub(tf.add(tf.matMul(p, zs), tf.matMul(p, zs, true, false)), tf.mul(swapped, 2));
          return [tf.mul(sum, tf.div(dy, rows * temperature))];
        },
      };
    });
    return loss(tf.concat([a, b])) as Scalar;
  });
}

/** Point pairs: for each kept point, its image in the batch and its position in both views (view pixels). */
export interface PointPairs {
  batchIndex: Int32Array;
  /** x, y interleaved, continuous pixel coordinates of the view (pixel i spans [i, i + 1)). */
  view1: Float32Array;
  view2: Float32Array;
}

/**
 * Up to `perImage` points per image that both views show: drawn uniformly over view 1, mapped to
 * the image and on into view 2, kept if they fall inside it (4 x perImage draws at most).
 */
export function samplePointPairs(
  rng: Rng,
  boxes1: readonly CropBoxSample[],
  boxes2: readonly CropBoxSample[],
  viewSize: number,
  perImage: number,
): PointPairs {
  const batch: number[] = [];
  const v1: number[] = [];
  const v2: number[] = [];
  boxes1.forEach((b1, i) => {
    const b2 = boxes2[i]!;
    let kept = 0;
    for (let attempt = 0; attempt < 4 * perImage && kept < perImage; attempt++) {
      const u = rng.uniform(0.5, viewSize - 0.5);
      const v = rng.uniform(0.5, viewSize - 0.5);
      const x = b1.x + (u * b1.w) / viewSize;
      const y = b1.y + (v * b1.h) / viewSize;
      const u2 = ((x - b2.x) * viewSize) / b2.w;
      const v2y = ((y - b2.y) * viewSize) / b2.h;
      if (u2 < 0.5 || v2y < 0.5 || u2 > viewSize - 0.5 || v2y > viewSize - 0.5) continue;
      batch.push(i);
      v1.push(u, v);
      v2.push(u2, v2y);
      kept++;
    }
  });
  return { batchIndex: Int32Array.from(batch), view1: Float32Array.from(v1), view2: Float32Array.from(v2) };
}

/**
 * Bilinear samples [N, C] of a feature map [B, H, W, C] of the given stride at view-pixel points
 * (xy interleaved) of images `batchIndex`; a cell's centre sits at view pixel (j + 0.5) * stride.
 * Differentiable with respect to the map (gathers).
 */
export function featuresAtPoints(map: Tensor4D, stride: number, batchIndex: Int32Array, xy: Float32Array): Tensor2D {
  const [b, h, w, c] = map.shape;
  const n = batchIndex.length;
  // Corner k of point i at row k * n + i: one gather serves the four corners.
  const index = new Int32Array(4 * n);
  const weight = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const fx = Math.min(Math.max(xy[2 * i]! / stride - 0.5, 0), w - 1);
    const fy = Math.min(Math.max(xy[2 * i + 1]! / stride - 0.5, 0), h - 1);
    const x0 = Math.min(Math.floor(fx), Math.max(w - 2, 0));
    const y0 = Math.min(Math.floor(fy), Math.max(h - 2, 0));
    const x1 = Math.min(x0 + 1, w - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const dx = fx - x0;
    const dy = fy - y0;
    const base = batchIndex[i]! * h * w;
    const cells: [number, number][] = [
      [y0 * w + x0, (1 - dx) * (1 - dy)],
      [y0 * w + x1, dx * (1 - dy)],
      [y1 * w + x0, (1 - dx) * dy],
      [y1 * w + x1, dx * dy],
    ];
    cells.forEach(([cell, cellWeight], k) => {
      index[k * n + i] = base + cell;
      weight[k * n + i] = cellWeight;
    });
  }
  return tf.tidy(() => {
    const corners = tf.mul(
      tf.gather(tf.reshape(map, [b * h * w, c]), tf.tensor1d(index, 'int32')),
      tf.tensor2d(weight, [4 * n, 1]),
    );
    return tf.sum(tf.reshape(corners, [4, n, c]), 0) as Tensor2D;
  });
}

export interface DenseContrastState {
  readonly config: DenseContrastConfig;
  readonly seed: number;
  readonly imageCount: number;
  /** Horizon of the cosine schedule in steps. */
  totalSteps: number;
  step: number;
  readonly backbone: Backbone;
  readonly head: ProjectionHead;
  readonly optimizer: SgdMomentum;
  /** What the optimizer updates, by name: the backbone up to `stage` and the head. */
  readonly trainable: ReadonlyMap<string, Variable>;
}

export interface CreateDenseContrastStateOptions {
  config: DenseContrastConfig;
  imageCount: number;
  seed: number;
  totalSteps: number;
  /** Tests pass a small network; default createBackbone(config.backbone). */
  backboneFactory?: BackboneFactory;
}

export function createDenseContrastState(options: CreateDenseContrastStateOptions): DenseContrastState {
  const { config, seed, totalSteps } = options;
  if (!Number.isInteger(totalSteps) || totalSteps < 1)
    throw new Error(
      `dense contrastive pretraining needs a schedule of at least one step; got totalSteps = ${totalSteps}`,
    );
  const backbone = (options.backboneFactory ?? createBackbone)(config.backbone, {
    seed: mixSeed(seed, 0),
    trainable: true,
  });
  const stages = new Map(backbone.stages.map((s) => [s.name, s]));
  for (const name of [config.stage, ...config.hypercolumnStages]) {
    if (!stages.has(name)) {
      backbone.dispose();
      throw new Error(
        `backbone ${config.backbone.arch} has no stage "${name}" (stages: ${[...stages.keys()].join(', ')})`,
      );
    }
  }
  const head = createProjectionHead({
    inDim: config.hypercolumnStages.reduce((sum, s) => sum + stages.get(s)!.channels, 0),
    hiddenDim: config.projectionHidden,
    outDim: config.projectionDim,
    seed: mixSeed(seed, 1),
    trainable: true,
  });
  const used = new Set(variablesUpTo(backbone, config.stage));
  const trainable = new Map<string, Variable>([
    ...[...backbone.weights].filter(([, v]) => used.has(v)).map(([n, v]) => [`backbone.${n}`, v] as const),
    ...[...head.weights].map(([n, v]) => [`head.${n}`, v] as const),
  ]);
  const optimizer = new SgdMomentum(trainable, { momentum: config.sgdMomentum, weightDecay: config.weightDecay });
  return { config, seed, imageCount: options.imageCount, totalSteps, step: 0, backbone, head, optimizer, trainable };
}

export function disposeDenseContrastState(state: DenseContrastState): void {
  state.backbone.dispose();
  state.head.dispose();
  state.optimizer.dispose();
}

export interface DenseContrastStepResult {
  /** Eq. 7 loss of this step's batch (before the update). */
  loss: number;
  /** Mean cosine similarity of a point's features in its two views. */
  positiveSimilarity: number;
  /**
   * Mean cosine similarity of a point in view 1 with the other points in view 2. Features of a
   * random network are alike everywhere (both near 1); learning shows as the gap between the two.
   */
  negativeSimilarity: number;
  /** Loss of features that cannot tell the points apart: ln(2N - 1) for N point pairs. */
  chanceLoss: number;
  learningRate: number;
  points: number;
  step: number;
}

/**
 * Unit point features [N, projectionDim] of both views: one pass over the views stacked, with batch
 * norm per view (batchNormGroups: 2), the same as a pass per view and half the kernel launches.
 */
function pointEmbeddings(state: DenseContrastState, views: Tensor4D, pairs: PointPairs): [Tensor2D, Tensor2D] {
  const { config, backbone } = state;
  const batch = views.shape[0] / 2;
  const n = pairs.batchIndex.length;
  const batchIndex = Int32Array.from([...pairs.batchIndex, ...pairs.batchIndex.map((i) => i + batch)]);
  const xy = new Float32Array(4 * n);
  xy.set(pairs.view1);
  xy.set(pairs.view2, 2 * n);
  return tf.tidy(() => {
    const taps = backbone.apply(views, {
      training: true,
      stages: [config.stage, ...config.hypercolumnStages],
      batchNormGroups: 2,
    });
    const columns = config.hypercolumnStages.map((name) =>
      featuresAtPoints(taps[name]!, backbone.stages.find((s) => s.name === name)!.stride, batchIndex, xy),
    );
    const both = state.head.apply(tf.concat(columns, 1) as Tensor2D);
    return [tf.slice(both, [0, 0], [n, -1]), tf.slice(both, [n, 0], [n, -1])];
  });
}

/**
 * One training step on a batch of RGB images [B, H, W, 3] in [0, 1] (the caller keeps and disposes
 * it). Updates the state in place; tensor-count neutral.
 */
export async function denseContrastStep(state: DenseContrastState, images: Tensor4D): Promise<DenseContrastStepResult> {
  const { config } = state;
  if (images.rank !== 4 || images.shape[3] !== 3)
    throw new Error(
      `dense contrastive pretraining expects a [B, H, W, 3] batch of RGB images; got shape [${images.shape}]`,
    );
  const [batch, height, width] = images.shape;
  const step = state.step;
  const rng = createRng(mixSeed(state.seed, 3, step));
  const learningRate = warmupCosineLearningRate(config.learningRate, step, state.totalSteps, config.warmupSteps);
  const drawBoxes = (): CropBoxSample[] =>
    Array.from({ length: batch }, () =>
      sampleCropBox(rng, width, height, [config.cropMinScale, config.cropMaxScale], config.cropAspect),
    );
  const boxes1 = drawBoxes();
  const boxes2 = drawBoxes();
  const pairs = samplePointPairs(rng, boxes1, boxes2, config.inputSize, config.pointsPerImage);
  if (pairs.batchIndex.length < 2)
    throw new Error(`dense contrastive step ${step}: the two views share fewer than 2 points`);
  // Both views in one batch: the boxes of view 1, then those of view 2, jittered image by image.
  const views = tf.tidy(() =>
    normalizeImageNet(
      photometricJitter(
        cropAndResizeBoxes(tf.concat([images, images]), [...boxes1, ...boxes2], config.inputSize),
        rng,
        config.photometric,
      ),
    ),
  );
  let positive: Scalar | null = null;
  let negative: Scalar | null = null;
  try {
    const params = [...state.trainable.values()];
    const { value, grads } = tf.variableGrads(() => {
      const [a, b] = pointEmbeddings(state, views, pairs);
      const n = a.shape[0];
      const positiveSum = tf.sum(tf.mul(a, b));
      positive = tf.keep(tf.div(positiveSum, n) as Scalar);
      negative = tf.keep(tf.div(tf.sub(tf.sum(tf.matMul(a, b, false, true)), positiveSum), n * (n - 1)) as Scalar);
      return denseContrastLoss(a, b, config.temperature);
    }, params);
    try {
      const [lossValue, positiveValue, negativeValue] = await Promise.all([
        value.data(),
        (positive as Scalar | null)!.data(),
        (negative as Scalar | null)!.data(),
      ]);
      if (!Number.isFinite(lossValue[0]!))
        throw new Error(
          `dense contrastive pretraining diverged at step ${step} (loss ${lossValue[0]}): lower the learning rate`,
        );
      state.optimizer.step(new Map([...state.trainable].map(([n, v]) => [n, grads[v.name]!])), learningRate);
      state.step = step + 1;
      return {
        loss: lossValue[0]!,
        positiveSimilarity: positiveValue[0]!,
        negativeSimilarity: negativeValue[0]!,
        chanceLoss: chanceLevelLoss(2 * pairs.batchIndex.length - 2),
        learningRate,
        points: pairs.batchIndex.length,
        step,
      };
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    views.dispose();
    if (positive) (positive as Scalar).dispose();
    if (negative) (negative as Scalar).dispose();
  }
}
