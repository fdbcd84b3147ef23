// The few-shot landmark regressor of papers 000/001 (paper 000 Sec. 4.1 "Evaluation"): per
// target landmark, M filters of size 1x1xC on the frozen C-dim hypercolumn give M intermediate
// heatmaps; soft-argmax turns each into a coordinate; a linear layer maps the M (x, y) to the
// landmark. The paper's M is 50; the default is 1 (train/config.ts says why).
//
// Two exact rewrites keep it fast on a CPU without changing the model:
// - 1x1 filters commute with the hypercolumn's bilinear resize (both linear, resize weights sum to
//   1), so each stage is filtered at its own resolution and the K*M maps are resized and summed:
//   sum_s resize(f_s) W_s = sum_s resize(f_s W_s). For ResNet-18 at 96 px this is ~30x fewer
//   multiply-adds than filtering the 48x48x960 hypercolumn.
// - Features are centred per channel and scaled per stage with statistics of the training images
//   (fixed, stored with the head): a linear reparametrisation of the same filters that puts the
//   stages' very different scales on one footing for Adam.
//
// Confidence of a prediction: how concentrated the intermediate heatmaps are. For each
// intermediate heatmap, sigma = sqrt(var_x + var_y) of its spatial softmax in [-1, 1] units;
// the landmark's sigma is their average weighted by |linear weights|; confidence =
// clamp(1 - sigma / sigma_flat, 0, 1) with sigma_flat the spread of a flat map (~sqrt(2/3)).
// 1 = every heatmap a sharp peak, 0 = heatmaps as spread as a uniform map.
import type { Scalar, Tensor, Tensor2D, Tensor3D, Tensor4D, Variable } from '@tensorflow/tfjs';
import type { StageInfo, Taps } from '../backbones/index.js';
import { tf } from '../engine.js';
import { resizeBilinear, type HypercolumnConfig } from '../hypercolumn.js';
import { spatialSoftmax } from '../softArgmax.js';

/** Coordinates (in [-1, 1] units) are multiplied by this before the smooth-L1 loss (papers' code: alpha = 10). */
const SMOOTH_L1_SCALE = 10;

export interface PaperHeadSpec {
  keypointCount: number;
  /** M: intermediate heatmaps per landmark (paper: 50). */
  intermediateHeatmaps: number;
  /** Hypercolumn stages and grid the filters act on. */
  hypercolumn: HypercolumnConfig;
  /** Channels of each hypercolumn stage (from the backbone's stage list). */
  stageChannels: Record<string, number>;
  /** Side of the square network input, pixels (outputs are in these pixels). */
  inputSize: number;
  /** Multiplies the filter responses before the spatial softmax (DVE's softargmax_mul). */
  softargmaxMultiplier: number;
}

export interface PaperHeadOutput {
  /** [B, K, 2] predicted (x, y) in network input pixels. */
  coords: Tensor3D;
  /** [B, K] concentration confidence in [0, 1]. */
  confidence: Tensor2D;
}

export class PaperHead {
  /** Every variable by name, for saveWeights/loadWeightsInto. */
  readonly weights = new Map<string, Variable>();
  private readonly filters = new Map<string, Variable>();
  private readonly featureMean = new Map<string, Variable>();
  private readonly featureStd = new Map<string, Variable>();
  /** 1/sqrt(C): keeps filter responses ~N(0, 1) at initialisation. */
  private readonly filterScale: number;
  /** [K, 2M, 2]: input rows interleave (x_m, y_m). */
  private readonly linear: Variable;
  private readonly linearBias: Variable;

  constructor(
    readonly spec: PaperHeadSpec,
    seed = 1,
  ) {
    const { keypointCount: k, intermediateHeatmaps: m } = spec;
    if (!Number.isInteger(k) || k < 1) throw new Error(`paper head needs at least one keypoint, got ${k}`);
    if (!Number.isInteger(m) || m < 1) throw new Error(`paper head needs at least one intermediate heatmap, got ${m}`);
    const total = spec.hypercolumn.stages.reduce((s, name) => s + this.channels(name), 0);
    const add = (name: string, value: Tensor, trainable: boolean): Variable => {
      const v = tf.variable(value, trainable);
      value.dispose();
      this.weights.set(name, v);
      return v;
    };
    // Filter responses are scaled by 1/sqrt(C) so that N(0, s^2) filters give ~N(0, s^2)
    // responses on normalised features whatever the hypercolumn's width. s = 0.01, not DVE's 1:
    // heatmaps start flat and only what the labels teach shapes them (with DVE's start, 20
    // labels leave random peaks in place: 1.19 vs 1.08 of the mean-shape error on demo crops).
    this.filterScale = 1 / Math.sqrt(total);
    spec.hypercolumn.stages.forEach((name, i) => {
      const c = this.channels(name);
      this.filters.set(name, add(`filters.${name}`, tf.randomNormal([c, k * m], 0, 0.01, 'float32', seed + i), true));
      this.featureMean.set(name, add(`featureMean.${name}`, tf.zeros([c]), false));
      this.featureStd.set(name, add(`featureStd.${name}`, tf.ones([c]), false));
    });
    // Starts as the mean of the M intermediate points, a sensible first estimate.
    const init = new Float32Array(k * 2 * m * 2);
    for (let kk = 0; kk < k; kk++)
      for (let mm = 0; mm < m; mm++) {
        init[(kk * 2 * m + 2 * mm) * 2] = 1 / m;
        init[(kk * 2 * m + 2 * mm + 1) * 2 + 1] = 1 / m;
      }
    this.linear = add('linear', tf.tensor3d(init, [k, 2 * m, 2]), true);
    this.linearBias = add('linearBias', tf.zeros([k, 2]), true);
  }

  private channels(stage: string): number {
    const c = this.spec.stageChannels[stage];
    if (!c) throw new Error(`paper head: no channel count for hypercolumn stage "${stage}"`);
    return c;
  }

  /** Variables Adam updates. */
  trainableVariables(): Variable[] {
    return [...this.filters.values(), this.linear, this.linearBias];
  }

  /** The 1x1 filters: what weight decay regularises (see trainPaperHead.ts). */
  filterVariables(): Variable[] {
    return [...this.filters.values()];
  }

  /**
   * Sets the feature normalisation from training-image taps (call once before training).
   * Statistics are over every pixel of every image at the stage's own resolution.
   */
  setFeatureStatistics(taps: Taps): void {
    tf.tidy(() => {
      for (const name of this.spec.hypercolumn.stages) {
        const tap = taps[name];
        if (!tap) throw new Error(`paper head: the taps lack stage "${name}"`);
        const { mean, variance } = tf.moments(tap, [0, 1, 2]);
        this.featureMean.get(name)!.assign(mean);
        // One scale per stage (the RMS of its channels' deviations), not per channel: dividing
        // near-constant channels by their tiny deviations would blow their noise up to the size
        // of real signal, which 5-100 labels then happily fit.
        this.featureStd.get(name)!.assign(tf.fill(mean.shape, tf.sqrt(tf.mean(variance)).dataSync()[0]! || 1));
      }
    });
  }

  /**
   * [B, G, G, K*M] logits of the intermediate heatmaps: 1x1 filters on the hypercolumn, times the
   * soft-argmax multiplier. No filter bias: a per-map constant does not change a spatial softmax.
   */
  intermediateLogits(taps: Taps): Tensor4D {
    return tf.tidy(() => {
      const parts = this.spec.hypercolumn.stages.map((name) => {
        const tap = taps[name];
        if (!tap) throw new Error(`paper head: the taps lack stage "${name}"`);
        const [b, h, w, c] = tap.shape;
        const standard = tf.div(tf.sub(tap, this.featureMean.get(name)!), this.featureStd.get(name)!);
        const filtered = tf.matMul(tf.reshape(standard, [b * h * w, c]), this.filters.get(name)! as Tensor2D);
        return resizeBilinear(tf.reshape(filtered, [b, h, w, -1]) as Tensor4D, this.spec.hypercolumn.gridSize);
      });
      const summed = parts.length === 1 ? parts[0]! : tf.addN(parts);
      return tf.mul(summed, this.filterScale * this.spec.softargmaxMultiplier) as Tensor4D;
    });
  }

  /** Predictions and confidences for a batch of backbone taps. */
  forward(taps: Taps): PaperHeadOutput {
    return tf.tidy(() => {
      const { keypointCount: k, intermediateHeatmaps: m, inputSize } = this.spec;
      const probs = spatialSoftmax(this.intermediateLogits(taps)); // [B, G, G, K*M]
      const [b, gh, gw] = probs.shape;
      // Normalised coordinates of cell centres, [-1, 1] across the input.
      const xs = tf.reshape(tf.sub(tf.mul(tf.add(tf.range(0, gw, 1, 'float32'), 0.5), 2 / gw), 1), [1, 1, gw, 1]);
      const ys = tf.reshape(tf.sub(tf.mul(tf.add(tf.range(0, gh, 1, 'float32'), 0.5), 2 / gh), 1), [1, gh, 1, 1]);
      const px = tf.sum(probs, 1, true); // [B, 1, W, KM] marginal over rows
      const py = tf.sum(probs, 2, true); // [B, H, 1, KM]
      const ex = tf.sum(tf.mul(px, xs), [1, 2]); // [B, KM]
      const ey = tf.sum(tf.mul(py, ys), [1, 2]);
      const varX = tf.relu(tf.sub(tf.sum(tf.mul(px, tf.square(xs)), [1, 2]), tf.square(ex)));
      const varY = tf.relu(tf.sub(tf.sum(tf.mul(py, tf.square(ys)), [1, 2]), tf.square(ey)));
      // Per landmark: [B, K, 2M] with (x_m, y_m) interleaved, then the linear layer per landmark.
      const points = tf.reshape(tf.stack([ex, ey], 2), [b, k, 2 * m]);
      const mapped = tf.transpose(
        tf.matMul(tf.transpose(points, [1, 0, 2]) as Tensor3D, this.linear as Tensor3D),
        [1, 0, 2],
      );
      const normalised = tf.add(mapped, this.linearBias);
      const coords = tf.mul(tf.add(normalised, 1), inputSize / 2) as Tensor3D;
      // Concentration confidence (file comment): weights = |linear| summed over x/y rows and outputs.
      const spread = tf.reshape(tf.sqrt(tf.add(varX, varY)), [b, k, m]);
      const importance = tf.sum(tf.reshape(tf.abs(this.linear), [k, m, 2 * 2]), 2); // [K, M]
      const weights = tf.div(importance, tf.add(tf.sum(importance, 1, true), 1e-12));
      const sigma = tf.sum(tf.mul(spread, weights), 2); // [B, K]
      // A flat map over the grid's cell centres: var = (1 - 1/n^2) / 3 per axis.
      const sigmaFlat = Math.sqrt((1 - 1 / gw ** 2) / 3 + (1 - 1 / gh ** 2) / 3);
      const confidence = tf.clipByValue(tf.sub(1, tf.div(sigma, sigmaFlat)), 0, 1) as Tensor2D;
      return { coords, confidence };
    });
  }

  /**
   * Masked smooth-L1 (Huber) loss of the coordinates in normalised units ([-1, 1] across the
   * input) scaled by 10, as the papers' code does (`smooth_l1_loss(pred * 10, target * 10)`):
   * quadratic within 0.1 (~5 px at 96 px), linear beyond, so a few badly placed training points
   * do not dominate the fit (held-out ratio on demo crops 0.63 vs 0.71 with squared error).
   * Points whose mask is 0 (absent, occluded, unlabeled) contribute nothing. targets [B, K, 2]
   * input pixels, mask [B, K] of 0/1.
   */
  loss(taps: Taps, targets: Tensor3D, mask: Tensor2D): Scalar {
    return tf.tidy(() => {
      const { coords } = this.forward(taps);
      const distance = tf.abs(tf.mul(tf.sub(coords, targets), (2 / this.spec.inputSize) * SMOOTH_L1_SCALE));
      // 0.5 min(d, 1)^2 + (d - min(d, 1)): smooth L1 written without a comparison op (no gradient).
      const inner = tf.minimum(distance, 1);
      const huber = tf.sum(tf.add(tf.mul(tf.square(inner), 0.5), tf.sub(distance, inner)), 2);
      // where(), not a product, so a NaN/garbage target under a zero mask cannot leak in.
      const kept = tf.where(tf.cast(mask, 'bool'), huber, tf.zerosLike(huber));
      return tf.div(tf.sum(kept), tf.maximum(tf.mul(tf.sum(mask), 2), 1)) as Scalar;
    });
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
    this.weights.clear();
  }
}

/** The stage channel table a PaperHeadSpec needs, from a backbone's stage list. */
export function stageChannelTable(stages: readonly StageInfo[]): Record<string, number> {
  return Object.fromEntries(stages.map((s) => [s.name, s.channels]));
}
