// The `projection` pretraining method (paper 001 Sec. 3.2): a linear map w (C x d) over the
// frozen, per-cell L2-normalised hypercolumn of an earlier run's backbone, trained so that the
// projected descriptors are spatially distinctive: for a location u of a TPS-warped copy x' of an
// image x, p(v | u) (Eq. 4: softmax over every location v of x of the cosine similarity / tau)
// must put its mass near g(u), the location of x that u shows. Loss (Eq. 3):
//   L = 1/|Omega| sum_u sum_v ||g(u) - v|| p(v | u),
// the expected distance, in grid cells, between a location's match and its true place. (Eq. 3
// divides by |Omega|^2; one more 1/|Omega| only rescales the loss, and this one reads in cells.)
// Locations of x' whose g(u) falls outside x are left out. Normalising the hypercolumn first does
// not change the cosine of w^T x (a per-location scale) and keeps the SGD steps well conditioned.
// The checkpoint holds the frozen backbone too, so a projection run describes images on its own.
import type { Scalar, Tensor, Tensor2D, Tensor3D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { createRng, mixSeed } from '../../../src-shared/random.js';
import { sampleTps, tpsSamplingGrid, warpTps } from '../augment/tps.js';
import { loadCheckpointBackbone } from '../backbones/checkpointBackbone.js';
import { createBackbone, type Backbone } from '../backbones/index.js';
import { tf } from '../engine.js';
import { hypercolumnChannels, hypercolumnConfigFor, resizeBilinear } from '../hypercolumn.js';
import { normalizeImageNet } from '../image/normalize.js';
import { loadWeightsInto, saveWeights } from '../weights.js';
import { checkpointMetadata, readCheckpointMetadata, type CheckpointMetadata } from './checkpointMetadata.js';
import { warmupCosineLearningRate } from './learningRate.js';
import { PROJECTION_DEFAULTS, type ProjectionConfig } from './projectionConfig.js';
import { SgdMomentum } from './sgdMomentum.js';

const METHOD = 'projection';
const STATE_VERSION = 1;
const WEIGHT = 'projection.weight';

/**
 * Eq. 3 for one batch: a [B, N, d] unit descriptors of x' (N locations), b [B, M, d] those of x,
 * distance [B, N, M] = ||g(u) - v||, weight [B, N] 1 for locations to count and 0 for the others.
 * The weighted mean over u of sum_v distance * softmax_v(a_u . b_v / tau).
 */
export function equivarianceLoss(
  a: Tensor3D,
  b: Tensor3D,
  distance: Tensor3D,
  weight: Tensor2D,
  temperature: number,
): Scalar {
  return tf.tidy(() => {
    const p = tf.softmax(tf.div(tf.matMul(a, b, false, true), temperature));
    const expected = tf.sum(tf.mul(p, distance), 2);
    return tf.div(tf.sum(tf.mul(expected, weight)), tf.maximum(tf.sum(weight), 1)) as Scalar;
  });
}

/** Rows (last axis) scaled to unit length. */
function unit<T extends Tensor>(x: T): T {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12)));
}

/** For each warped grid cell: the distances to every cell of the source grid, and whether it shows the source. */
export function warpDistances(
  field: Float32Array,
  batch: number,
  width: number,
  height: number,
): { distance: Float32Array; weight: Float32Array; chance: number } {
  const n = width * height;
  const distance = new Float32Array(batch * n * n);
  const weight = new Float32Array(batch * n);
  let chanceSum = 0;
  let counted = 0;
  for (let b = 0; b < batch; b++)
    for (let u = 0; u < n; u++) {
      const sx = field[(b * n + u) * 2]!;
      const sy = field[(b * n + u) * 2 + 1]!;
      const inside = sx >= -0.5 && sy >= -0.5 && sx <= width - 0.5 && sy <= height - 0.5;
      weight[b * n + u] = inside ? 1 : 0;
      let rowSum = 0;
      const base = (b * n + u) * n;
      for (let v = 0; v < n; v++) {
        const d = Math.hypot(sx - (v % width), sy - Math.floor(v / width));
        distance[base + v] = d;
        rowSum += d;
      }
      if (inside) {
        chanceSum += rowSum / n;
        counted++;
      }
    }
  return { distance, weight, chance: counted ? chanceSum / counted : NaN };
}

export interface ProjectionState {
  readonly config: ProjectionConfig;
  readonly seed: number;
  readonly imageCount: number;
  totalSteps: number;
  step: number;
  /** Frozen. */
  readonly backbone: Backbone;
  /** w, [C, d]. */
  readonly weight: Variable;
  readonly optimizer: SgdMomentum;
}

export interface CreateProjectionStateOptions {
  config: ProjectionConfig;
  /** Weights folder of the run whose backbone is projected; null: random init (seeded). */
  featuresDir: string | null;
  imageCount: number;
  seed: number;
  totalSteps: number;
}

function checkTotalSteps(totalSteps: number): void {
  if (!Number.isInteger(totalSteps) || totalSteps < 1)
    throw new Error(`projection training needs a schedule of at least one step; got totalSteps = ${totalSteps}`);
}

export function createProjectionState(options: CreateProjectionStateOptions): ProjectionState {
  const { config, seed, totalSteps } = options;
  checkTotalSteps(totalSteps);
  const backbone =
    options.featuresDir === null
      ? createBackbone(config.backbone, { seed: mixSeed(seed, 0), trainable: false })
      : loadCheckpointBackbone(options.featuresDir, config.backbone, mixSeed(seed, 0), `run ${config.featuresRunId}`);
  const channels = hypercolumnChannels(backbone.stages, { stages: config.stages, gridSize: [1, 1] });
  // Orthogonal-ish start: Gaussian columns of norm ~1 keep the first descriptors as distinct as the hypercolumn.
  const weight = tf.tidy(() =>
    tf.variable(tf.randomNormal([channels, config.dim], 0, 1 / Math.sqrt(channels), 'float32', mixSeed(seed, 1))),
  );
  const optimizer = new SgdMomentum(new Map([[WEIGHT, weight]]), { momentum: config.sgdMomentum, weightDecay: 0 });
  return { config, seed, imageCount: options.imageCount, totalSteps, step: 0, backbone, weight, optimizer };
}

export function disposeProjectionState(state: ProjectionState): void {
  state.backbone.dispose();
  state.weight.dispose();
  state.optimizer.dispose();
}

/** Per-cell unit hypercolumns [B, N, C] of RGB images in [0, 1] at the run's input size. */
function unitHypercolumns(state: ProjectionState, images: Tensor4D): Tensor3D {
  const { config, backbone } = state;
  const grid = hypercolumnConfigFor([config.inputSize, config.inputSize]).gridSize as [number, number];
  return tf.tidy(() => {
    const taps = backbone.apply(normalizeImageNet(images), { training: false, stages: config.stages });
    const parts = config.stages.map((name) => resizeBilinear(taps[name]!, grid));
    const columns = parts.length === 1 ? parts[0]! : tf.concat(parts, 3);
    const [b, gh, gw, c] = columns.shape;
    return unit(tf.reshape(columns, [b, gh * gw, c]) as Tensor3D);
  });
}

export interface ProjectionStepResult {
  /** The step this was (the state's count before it). */
  step: number;
  /** Eq. 3 (in grid cells) before the update. */
  loss: number;
  /** The loss of descriptors that cannot tell locations apart (uniform p). */
  chanceLoss: number;
  /** Mean cosine similarity of a location's descriptor in x' with that of its true place in x. */
  positiveSimilarity: number;
  learningRate: number;
}

/** One step on RGB images [B, H, W, 3] in [0, 1] (any size; resized to the input). Tensor-count neutral. */
export async function projectionStep(state: ProjectionState, images: Tensor4D): Promise<ProjectionStepResult> {
  const { config } = state;
  if (images.rank !== 4 || images.shape[3] !== 3)
    throw new Error(`projection training expects a [B, H, W, 3] batch of RGB images; got shape [${images.shape}]`);
  const batch = images.shape[0];
  const step = state.step;
  const rng = createRng(mixSeed(state.seed, 3, step));
  const [gh, gw] = hypercolumnConfigFor([config.inputSize, config.inputSize]).gridSize as [number, number];
  const warps = Array.from({ length: batch }, () => sampleTps(rng, config.tps));
  const field = tpsSamplingGrid(warps, gw, gh);
  const { distance, weight, chance } = warpDistances(field, batch, gw, gh);
  const n = gw * gh;
  // The nearest source cell of each warped cell, for the positive similarity.
  const nearest = Int32Array.from({ length: batch * n }, (_, i) => {
    const b = Math.floor(i / n);
    const x = Math.min(gw - 1, Math.max(0, Math.round(field[2 * i]!)));
    const y = Math.min(gh - 1, Math.max(0, Math.round(field[2 * i + 1]!)));
    return b * n + y * gw + x;
  });
  const learningRate = warmupCosineLearningRate(config.learningRate, step, state.totalSteps, config.warmupSteps);
  const [warpedColumns, sourceColumns] = tf.tidy(() => {
    const resized = tf.image.resizeBilinear(images, [config.inputSize, config.inputSize], false, true) as Tensor4D;
    const both = unitHypercolumns(state, tf.concat([warpTps(resized, warps), resized]) as Tensor4D);
    return [tf.slice(both, [0, 0, 0], [batch, -1, -1]), tf.slice(both, [batch, 0, 0], [batch, -1, -1])] as [
      Tensor3D,
      Tensor3D,
    ];
  });
  const distanceT = tf.tensor3d(distance, [batch, n, n]);
  const weightT = tf.tensor2d(weight, [batch, n]);
  const nearestT = tf.tensor1d(nearest, 'int32');
  let positive: Scalar | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const project = (x: Tensor3D): Tensor3D =>
        unit(tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[2]]), state.weight), [batch, n, config.dim]));
      const a = project(warpedColumns);
      const b = project(sourceColumns);
      const matched = tf.gather(tf.reshape(b, [batch * n, config.dim]), nearestT);
      const cosines = tf.sum(tf.mul(tf.reshape(a, [batch * n, config.dim]), matched), 1);
      positive = tf.keep(tf.div(tf.sum(tf.mul(cosines, tf.reshape(weightT, [-1]))), tf.maximum(tf.sum(weightT), 1)));
      return equivarianceLoss(a, b, distanceT, weightT, config.temperature);
    }, [state.weight]);
    try {
      const [lossValue, positiveValue] = await Promise.all([value.data(), (positive as Scalar | null)!.data()]);
      if (!Number.isFinite(lossValue[0]))
        throw new Error(`projection training diverged at step ${step} (loss ${lossValue[0]}): lower the learning rate`);
      state.optimizer.step(new Map([[WEIGHT, grads[state.weight.name]!]]), learningRate);
      state.step = step + 1;
      return {
        step,
        loss: lossValue[0]!,
        chanceLoss: chance,
        positiveSimilarity: positiveValue[0]!,
        learningRate,
      };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  } finally {
    tf.dispose([warpedColumns, sourceColumns, distanceT, weightT, nearestT]);
    if (positive) (positive as Scalar).dispose();
  }
}

type ProjectionCheckpointMetadata = CheckpointMetadata<ProjectionConfig>;

function stateVariables(state: ProjectionState): Map<string, Variable> {
  return new Map<string, Variable>([
    ...[...state.backbone.weights].map(([n, v]) => [`backbone.${n}`, v] as const),
    [WEIGHT, state.weight],
    ...[...state.optimizer.buffers].map(([n, v]) => [`momentum.${n}`, v] as const),
  ]);
}

export async function saveProjectionState(state: ProjectionState, dir: string): Promise<void> {
  const metadata: ProjectionCheckpointMetadata = checkpointMetadata(METHOD, STATE_VERSION, state);
  await saveWeights(dir, stateVariables(state), metadata as unknown as Record<string, unknown>);
}

/** Rebuilds a run's state from its checkpoint (backbone included); the caller disposes it. */
export function loadProjectionState(dir: string): ProjectionState {
  const meta = readCheckpointMetadata<ProjectionCheckpointMetadata>(dir, METHOD, 'projection', STATE_VERSION);
  const config = { ...PROJECTION_DEFAULTS, ...meta.config };
  const state = createProjectionState({
    config,
    featuresDir: null,
    imageCount: meta.imageCount,
    seed: meta.seed,
    totalSteps: meta.totalSteps,
  });
  try {
    loadWeightsInto(dir, stateVariables(state));
    state.step = meta.step;
    return state;
  } catch (err) {
    disposeProjectionState(state);
    throw err;
  }
}

/** The projection a finished run learned, [C, d], and its settings: what descriptor maps use. */
export function readProjection(dir: string): { config: ProjectionConfig; weight: Tensor2D; backbone: Backbone } {
  const state = loadProjectionState(dir);
  state.optimizer.dispose();
  return { config: state.config, weight: state.weight as unknown as Tensor2D, backbone: state.backbone };
}
