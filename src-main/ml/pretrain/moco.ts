// MoCo v2 pretraining (paper 000 Sec. 3.1 "Invariant learning", Eq. 5, trained with MoCo [He et
// al. 2020] and MoCo v2's MLP head, augmentations and cosine schedule). One call of mocoStep is
// MoCo's training iteration (Algorithm 1 of the MoCo paper):
//   1. two random views of every image (mocoViews.ts);
//   2. key encoder := EMA of the query encoder (before this step's update);
//   3. keys k from the key encoder, with the batch shuffled into batch-norm sub-batches (ShuffleBN);
//   4. queries q from the query encoder, InfoNCE of q against k and the queue, SGD on the query;
//   5. the keys enter the queue, the oldest leave.
//
// Batch norm and the positive pair: with one batch norm over the whole batch, a query and its key
// are normalised with statistics of the same images, a signal the network can use to find the
// positive without learning anything about the images (MoCo Sec. 3.3). MoCo shuffles keys across
// GPUs; this is its one-device form, as in the official MoCo CIFAR-10 demo (SplitBatchNorm): both
// encoders compute batch norm per sub-batch of batch/bnSplits images (each sub-batch a "GPU"),
// queries in their original order, keys after a random permutation that is undone afterwards.
// The backbone runs once on the whole batch with its batch norms in sub-batch groups
// (ForwardOptions.batchNormGroups): the same as one pass per sub-batch, since every other layer
// treats images independently, and faster. Moving averages are updated once per sub-batch
// (bnSplits times per step instead of once with their mean), which only shortens their memory.
//
// The key encoder's EMA covers every weight, batch-norm moving statistics included (MoCo's code
// averages parameters only and lets the key encoder's own forward passes move its statistics);
// its forward pass then moves them once more towards the key batch, so both sources count.
import { createRng, mixSeed, type Rng } from '../../../src-shared/random.js';
import { createBackbone, type Backbone, type BackboneConfig, type CreateOptions } from '../backbones/index.js';
import { tf } from '../engine.js';
import type { Scalar, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { copyWeights, emaUpdate, type NamedWeights } from '../weights.js';
import { chanceLevelLoss, infoNceLogits, infoNceFromLogits } from './infoNce.js';
import { warmupCosineLearningRate } from './learningRate.js';
import { projectionHiddenWidth, type MocoConfig } from './mocoConfig.js';
import { makeMocoViews } from './mocoViews.js';
import { createProjectionHead, type ProjectionHead } from './projectionHead.js';
import { NegativeQueue } from './queue.js';
import { SgdMomentum } from './sgdMomentum.js';

/** Builds a backbone; tests pass a small network, the product uses createBackbone(config.backbone). */
export type BackboneFactory = (config: BackboneConfig, options: CreateOptions) => Backbone;

/** Backbone + projection head, with every weight under one name space ("backbone.*", "head.*"). */
export interface MocoEncoder {
  backbone: Backbone;
  head: ProjectionHead;
  /** All weights, batch-norm moving statistics included: what EMA, copies and checkpoints use. */
  weights: NamedWeights;
}

function createEncoder(config: MocoConfig, seed: number, trainable: boolean, factory: BackboneFactory): MocoEncoder {
  const backbone = factory(config.backbone, { seed, trainable });
  const featureWidth = backbone.stages[backbone.stages.length - 1]!.channels;
  const head = createProjectionHead({
    inDim: featureWidth,
    hiddenDim: projectionHiddenWidth(config, featureWidth),
    outDim: config.projectionDim,
    seed: mixSeed(seed, 1),
    trainable,
  });
  const weights = new Map<string, Variable>([
    ...[...backbone.weights].map(([name, v]) => [`backbone.${name}`, v] as const),
    ...[...head.weights].map(([name, v]) => [`head.${name}`, v] as const),
  ]);
  return { backbone, head, weights };
}

/** Unit embeddings [B, projectionDim] of normalised images, batch norm computed per sub-batch (`splits` consecutive sub-batches). */
export function embed(encoder: MocoEncoder, images: Tensor4D, splits: number): Tensor2D {
  const last = encoder.backbone.stages[encoder.backbone.stages.length - 1]!.name;
  return tf.tidy(() => {
    const taps = encoder.backbone.apply(images, { training: true, stages: [last], batchNormGroups: splits });
    return encoder.head.apply(tf.mean(taps[last]!, [1, 2]) as Tensor2D);
  });
}

/** Everything a pretraining run needs to continue exactly where it stopped. */
export interface MocoState {
  readonly config: MocoConfig;
  /** Seeds the initialisation and, mixed with the step number, every step's random draws. */
  readonly seed: number;
  /** Number of images being trained on (fixes steps per epoch). */
  readonly imageCount: number;
  /**
   * Horizon of the cosine learning-rate schedule, in steps. A time-budgeted run moves it to the
   * steps that fit in its budget once its pace is known (jobs/kinds/pretrain.ts).
   */
  totalSteps: number;
  /** Completed steps. */
  step: number;
  readonly query: MocoEncoder;
  readonly key: MocoEncoder;
  readonly queue: NegativeQueue;
  readonly optimizer: SgdMomentum;
  /** Trainable query weights by name (what the optimizer updates). */
  readonly trainable: NamedWeights;
}

export interface CreateMocoStateOptions {
  /** From resolveMocoConfig (validated, queue clamped). */
  config: MocoConfig;
  imageCount: number;
  seed: number;
  totalSteps: number;
  backboneFactory?: BackboneFactory;
}

/** A fresh run: random query encoder, key encoder as its copy, a queue of random unit vectors. */
export function createMocoState(options: CreateMocoStateOptions): MocoState {
  const { config, imageCount, seed, totalSteps } = options;
  if (!Number.isInteger(totalSteps) || totalSteps < 1)
    throw new Error(`MoCo needs a schedule of at least one step; got totalSteps = ${totalSteps}`);
  const factory = options.backboneFactory ?? createBackbone;
  const query = createEncoder(config, mixSeed(seed, 0), true, factory);
  const key = createEncoder(config, mixSeed(seed, 0), false, factory);
  copyWeights(key.weights, query.weights);
  const trainable = new Map([...query.weights].filter(([, v]) => v.trainable));
  return {
    config,
    seed,
    imageCount,
    totalSteps,
    step: 0,
    query,
    key,
    queue: NegativeQueue.random(config.queueSize, config.projectionDim, mixSeed(seed, 2)),
    optimizer: new SgdMomentum(trainable, { momentum: config.sgdMomentum, weightDecay: config.weightDecay }),
    trainable,
  };
}

export function disposeMocoState(state: MocoState): void {
  state.query.backbone.dispose();
  state.query.head.dispose();
  state.key.backbone.dispose();
  state.key.head.dispose();
  state.queue.dispose();
  state.optimizer.dispose();
}

/** Full batches per epoch (MoCo drops the last partial batch: every step enqueues a full batch). */
export function mocoStepsPerEpoch(state: MocoState): number {
  return Math.max(1, Math.floor(state.imageCount / state.config.batchSize));
}

/** Completed epochs, derived from the step count so the two can never disagree after a resume. */
export function mocoEpoch(state: MocoState): number {
  return Math.floor(state.step / mocoStepsPerEpoch(state));
}

/** The random draws of step `step` (views, key shuffle): a pure function of seed and step. */
export function mocoStepRng(seed: number, step: number): Rng {
  return createRng(mixSeed(seed, 3, step));
}

export interface MocoStepResult {
  /** InfoNCE loss of this step's batch (before the update). */
  loss: number;
  /** Mean cosine similarity of each query with its positive key. */
  positiveSimilarity: number;
  /** Loss of a model that cannot tell the positive from the negatives: ln(queue + 1). */
  chanceLoss: number;
  learningRate: number;
  /** The step this was (0-based); state.step is now one more. */
  step: number;
}

function checkBatch(state: MocoState, images: Tensor4D): void {
  const { batchSize, inputSize } = state.config;
  if (images.rank !== 4 || images.shape[3] !== 3)
    throw new Error(`MoCo expects a [B, H, W, 3] batch of RGB images; got shape [${images.shape}]`);
  const [b, h, w] = images.shape;
  if (b !== batchSize) throw new Error(`MoCo step got ${b} images; the run's batch size is ${batchSize}`);
  if (h < inputSize || w < inputSize) {
    throw new Error(
      `images of ${w}x${h} pixels are smaller than the ${inputSize}x${inputSize} crop: load them at ${inputSize} px or more, or use a smaller input size`,
    );
  }
}

/**
 * One MoCo iteration on a batch of images ([B, H, W, 3] float32 RGB in [0, 1], at least the input
 * size; the caller keeps and disposes it). Updates the state in place; tensor-count neutral.
 */
export async function mocoStep(state: MocoState, images: Tensor4D): Promise<MocoStepResult> {
  checkBatch(state, images);
  const { config } = state;
  const step = state.step;
  const rng = mocoStepRng(state.seed, step);
  const learningRate = warmupCosineLearningRate(config.learningRate, step, state.totalSteps, config.warmupSteps);

  const [queryViews, keyViews] = makeMocoViews(images, rng, config);
  const batch = images.shape[0];
  const shuffle = rng.shuffled(Array.from({ length: batch }, (_, i) => i));
  const unshuffle = new Array<number>(batch);
  shuffle.forEach((from, to) => (unshuffle[from] = to));

  let loss: Scalar | null = null;
  let positive: Scalar | null = null;
  let keys: Tensor2D | null = null;
  try {
    emaUpdate(state.key.weights, state.query.weights, config.keyMomentum);
    keys = tf.tidy(() => {
      const shuffled = tf.gather(keyViews, shuffle);
      return tf.gather(embed(state.key, shuffled as Tensor4D, config.bnSplits), unshuffle);
    });
    const positiveKeys = keys;
    const trainable = [...state.trainable.values()];
    const { value, grads } = tf.variableGrads(() => {
      const q = embed(state.query, queryViews, config.bnSplits);
      const logits = infoNceLogits(q, positiveKeys, state.queue.keys, config.temperature);
      positive = tf.keep(tf.mul(tf.mean(tf.slice(logits, [0, 0], [-1, 1])), config.temperature));
      return infoNceFromLogits(logits);
    }, trainable);
    loss = value;
    const [lossValue, positiveValue] = await Promise.all([value.data(), (positive as Scalar | null)!.data()]);
    if (!Number.isFinite(lossValue[0]!)) {
      tf.dispose(grads);
      throw new Error(`MoCo diverged at step ${step} (loss ${lossValue[0]}): lower the learning rate`);
    }
    const named = new Map([...state.trainable].map(([name, v]) => [name, grads[v.name]!]));
    try {
      state.optimizer.step(named, learningRate);
    } finally {
      tf.dispose(grads);
    }
    state.queue.enqueue(keys);
    state.step = step + 1;
    return {
      loss: lossValue[0]!,
      positiveSimilarity: positiveValue[0]!,
      chanceLoss: chanceLevelLoss(state.queue.size),
      learningRate,
      step,
    };
  } finally {
    tf.dispose([queryViews, keyViews]);
    if (keys) keys.dispose();
    if (loss) (loss as Scalar).dispose();
    if (positive) (positive as Scalar).dispose();
  }
}
