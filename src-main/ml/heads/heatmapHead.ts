// The product's landmark head for full frames, where a small object can be anywhere: fully
// convolutional, one heatmap per landmark at stride 4 (DESIGN "Few-shot regressors", `heatmap`).
//
//   backbone stem .. `stage` (ResNet-18: conv1 .. conv3_x, stride 8, 128 channels)
//   -> 3x3 conv + BN + ReLU (D channels)
//   -> bilinear x2 upsampling per halving of the stride, plus a 1x1-projected skip from the
//      backbone tap at that stride (conv2_x at stride 4) when there is one
//   -> 3x3 conv + BN + ReLU -> 1x1 conv to K logits.
//
// Targets are Gaussians (sigma in heatmap cells) at each visible landmark, normalised to sum to
// 1; the loss is the cross-entropy between that and the spatial softmax of the landmark's logits
// (each landmark is one classification over the cells). Why not per-cell BCE: with ~1000
// background cells per landmark cell, BCE (even with pos_weight 10) learns the peak slowly; the
// spatial cross-entropy's gradient is normalised per landmark whatever the map size. Same
// network, data and 150 steps on demo frames: 0.55 of the mean-shape error against BCE's 0.69
// (bench/README.md). Channels of masked points (absent, occluded, unlabeled, or pushed outside
// the input by augmentation) contribute nothing.
//
// Decoding: argmax per channel (with the model's distance prior, the local maxima believed
// together: distancePrior.ts), then a quadratic (parabola) fit through the peak logit and its
// two neighbours along each axis, which gives sub-cell precision (log-probabilities of a Gaussian
// bump are quadratic near the peak). Confidence = the spatial softmax's probability mass in the
// 3x3 cells around the peak: 1 when the network puts the landmark there and nowhere else, low
// when it hesitates between places or sees nothing.
import type { HeatmapBatch } from '../predict.js';
import type { Scalar, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { variablesUpTo, type Backbone, type FineTune, type Taps } from '../backbones/index.js';
import { batchNorm, conv2d, ParameterSet, type BatchNormParams, type ConvParams } from '../backbones/layers.js';
import { tf } from '../engine.js';
import { resizeBilinear } from '../hypercolumn.js';
import { parabolaOffset } from '../matching/match.js';
import { relu, softmaxCrossEntropy } from '../backbones/nativeOps.js';
import { choosePeaks, DISTANCE_PRIOR_DECODING, type DistancePrior } from './distancePrior.js';

export interface HeatmapHeadSpec {
  keypointCount: number;
  /** Deepest backbone stage used (e.g. 'conv3_x'). */
  stage: string;
  decoderChannels: number;
  outputStride: number;
  /** Gaussian target standard deviation, heatmap cells. */
  sigma: number;
}

interface Decoder {
  reduce: { conv: ConvParams; norm: BatchNormParams };
  /** One per x2 upsampling, with the backbone tap at that stride (or null: no skip). */
  ups: { skipStage: string | null; skip: ConvParams | null; conv: ConvParams; norm: BatchNormParams }[];
  out: ConvParams;
}

/**
 * Targets [B, K, H, W] of a head with `spec`: for each landmark a Gaussian at its point (in input
 * pixels, points [B, K, 2]) normalised to sum to 1 over the H x W cells, the distribution its
 * logits are trained towards; all zeros for masked points (mask [B, K] 0/1). Landmark-major, as
 * the loss's rows. Plain arrays: the batch worker makes them (train/heatmapBatches.ts).
 */
export function gaussianTargets(
  spec: Pick<HeatmapHeadSpec, 'keypointCount' | 'outputStride' | 'sigma'>,
  points: Float32Array,
  mask: Float32Array,
  batch: number,
  height: number,
  width: number,
): Float32Array {
  const k = spec.keypointCount;
  const stride = spec.outputStride;
  const out = new Float32Array(batch * k * height * width);
  const s2 = 2 * spec.sigma ** 2;
  const reach = Math.ceil(3 * spec.sigma);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < k; j++) {
      if (!mask[b * k + j]) continue;
      const map = out.subarray((b * k + j) * height * width, (b * k + j + 1) * height * width);
      // Heatmap cell (i, col) is centred at ((col + 0.5) * stride, (i + 0.5) * stride).
      const cx = points[(b * k + j) * 2]! / stride - 0.5;
      const cy = points[(b * k + j) * 2 + 1]! / stride - 0.5;
      let total = 0;
      for (let i = Math.max(0, Math.floor(cy) - reach); i <= Math.min(height - 1, Math.ceil(cy) + reach); i++)
        for (let c = Math.max(0, Math.floor(cx) - reach); c <= Math.min(width - 1, Math.ceil(cx) + reach); c++) {
          const value = Math.exp(-((c - cx) ** 2 + (i - cy) ** 2) / s2);
          map[i * width + c] = value;
          total += value;
        }
      if (total > 0) for (let i = 0; i < map.length; i++) map[i]! /= total;
    }
  return out;
}

export class HeatmapHead {
  /** Decoder variables by name (the backbone's are `backbone.weights`). */
  readonly decoderWeights: ReadonlyMap<string, Variable>;
  private readonly params: ParameterSet;
  private readonly decoder: Decoder;
  private readonly stageStride: number;
  /** Backbone stages the forward pass taps. */
  readonly tapStages: string[];

  constructor(
    readonly backbone: Backbone,
    readonly spec: HeatmapHeadSpec,
    seed = 1,
  ) {
    const stages = backbone.stages;
    const deepest = stages.find((s) => s.name === spec.stage);
    if (!deepest)
      throw new Error(
        `heatmap head: backbone ${backbone.config.arch} has no stage "${spec.stage}" (${stages.map((s) => s.name).join(', ')})`,
      );
    if (!Number.isInteger(spec.keypointCount) || spec.keypointCount < 1)
      throw new Error(`heatmap head needs at least one keypoint, got ${spec.keypointCount}`);
    if (
      !(spec.outputStride >= 1) ||
      deepest.stride % spec.outputStride !== 0 ||
      !Number.isInteger(Math.log2(deepest.stride / spec.outputStride))
    ) {
      throw new Error(
        `heatmap head: output stride ${spec.outputStride} must divide stage ${spec.stage}'s stride ${deepest.stride} by a power of two`,
      );
    }
    this.stageStride = deepest.stride;
    const d = spec.decoderChannels;
    this.params = new ParameterSet(seed, true);
    const p = this.params;
    const ups: Decoder['ups'] = [];
    for (let stride = deepest.stride / 2, i = 0; stride >= spec.outputStride; stride /= 2, i++) {
      // Skip from the deepest stage at this stride that comes before `stage`.
      const index = stages.indexOf(deepest);
      const skipInfo =
        stages
          .slice(0, index)
          .filter((s) => s.stride === stride)
          .pop() ?? null;
      ups.push({
        skipStage: skipInfo?.name ?? null,
        skip: skipInfo ? p.conv(`up${i}.skip`, 'decoder', { in: skipInfo.channels, out: d, kernel: 1 }) : null,
        conv: p.conv(`up${i}.conv`, 'decoder', { in: d, out: d, kernel: 3, pad: 1 }),
        norm: p.batchNorm(`up${i}.bn`, 'decoder', d),
      });
    }
    this.decoder = {
      reduce: {
        conv: p.conv('reduce.conv', 'decoder', { in: deepest.channels, out: d, kernel: 3, pad: 1 }),
        norm: p.batchNorm('reduce.bn', 'decoder', d),
      },
      ups,
      out: p.conv('out', 'decoder', { in: d, out: spec.keypointCount, kernel: 1, bias: true }),
    };
    this.decoderWeights = new Map([...p.params].map(([name, info]) => [name, info.variable]));
    this.tapStages = [...new Set([spec.stage, ...ups.flatMap((u) => (u.skipStage ? [u.skipStage] : []))])];
  }

  /** Every weight, backbone ones prefixed `backbone.` and decoder ones `decoder.` (for saveWeights). */
  get weights(): Map<string, Variable> {
    return new Map([
      ...[...this.backbone.weights].map(([n, v]) => [`backbone.${n}`, v] as const),
      ...[...this.decoderWeights].map(([n, v]) => [`decoder.${n}`, v] as const),
    ]);
  }

  /** Decoder variables an optimizer updates (batch-norm moving statistics excluded). */
  decoderTrainable(): Variable[] {
    return [...this.params.params.values()].filter((p) => p.trainable).map((p) => p.variable);
  }

  /**
   * Backbone variables that `fineTune` trains, among those the head actually uses (variablesUpTo).
   * 'last' = the deepest used stage only.
   */
  backboneTrainable(fineTune: FineTune): Variable[] {
    if (fineTune === 'none') return [];
    const names = this.backbone.stages.map((s) => s.name);
    const deepestIndex = names.indexOf(this.spec.stage);
    const used = variablesUpTo(this.backbone, this.spec.stage);
    if (fineTune === 'all' || deepestIndex === 0) return used;
    const below = new Set(variablesUpTo(this.backbone, names[deepestIndex - 1]!));
    return used.filter((v) => !below.has(v));
  }

  /**
   * Heatmap logits [B, H/stride, W/stride, K] for normalised images [B, H, W, 3].
   * training: decoder batch norms use batch statistics; the backbone trains batch norm only with
   * fineTune 'all' ('last' and 'none' keep its statistics frozen, the usual fine-tuning choice).
   * onTaps sees the backbone's outputs at `tapStages` (disposed after the call).
   */
  logits(images: Tensor4D, training: boolean, fineTune: FineTune, onTaps?: (taps: Taps) => void): Tensor4D {
    return tf.tidy(() => {
      const taps: Taps = this.backbone.apply(images, {
        training: training && fineTune === 'all',
        fineTune: 'all',
        stages: this.tapStages,
      });
      onTaps?.(taps);
      const { reduce, ups, out } = this.decoder;
      let x = relu(batchNorm(conv2d(taps[this.spec.stage]!, reduce.conv), reduce.norm, training));
      for (const up of ups) {
        const [, h, w] = x.shape;
        x = resizeBilinear(x, [h * 2, w * 2]);
        if (up.skip && up.skipStage) {
          const skip = conv2d(taps[up.skipStage]!, up.skip);
          // Odd input sizes: the skip tap may be a pixel off the upsampled size.
          x = tf.add(
            x,
            skip.shape[1] === x.shape[1] && skip.shape[2] === x.shape[2]
              ? skip
              : resizeBilinear(skip, [x.shape[1], x.shape[2]]),
          );
        }
        x = relu(batchNorm(conv2d(x, up.conv), up.norm, training));
      }
      return conv2d(x, out);
    });
  }

  /**
   * Cross-entropy between each unmasked landmark's target distribution (gaussianTargets, [B, K,
   * H, W]) and the spatial softmax of its logits [B, H, W, K], averaged over unmasked landmarks.
   * mask [B, K] 0/1.
   */
  loss(logits: Tensor4D, targets: Tensor4D, mask: Tensor2D): Scalar {
    return tf.tidy(() => {
      const [b, h, w, k] = logits.shape;
      const rows = tf.reshape(tf.transpose(logits, [0, 3, 1, 2]), [b * k, h * w]) as Tensor2D;
      const crossEntropy = softmaxCrossEntropy(rows, tf.reshape(targets, [b * k, h * w]));
      return tf.div(tf.sum(tf.mul(crossEntropy, tf.reshape(mask, [b * k]))), tf.maximum(tf.sum(mask), 1)) as Scalar;
    });
  }

  /**
   * Peak location (input pixels) and confidence per channel from logits [B, H, W, K]:
   * coords [B*K*2], confidence [B*K]; the peaks a `prior` believes together where one is given.
   */
  decode(
    logits: Tensor4D,
    prior: DistancePrior | null = null,
  ): { coords: Float32Array; confidence: Float32Array; heatmaps: HeatmapBatch } {
    const [b, h, w, k] = logits.shape;
    return decodeHeatmapLogits(logits.dataSync() as Float32Array, [b, h, w, k], this.spec.outputStride, prior);
  }

  /** Disposes the decoder; the backbone belongs to the caller. */
  dispose(): void {
    this.params.dispose();
  }
}

/**
 * Logits [B, H, W, K] (NHWC, as the head outputs them) -> per image and keypoint: the peak with
 * sub-pixel refinement (a parabola through the peak and its neighbours along each axis) in input
 * pixels, the confidence (the softmax's mass within one cell of the peak) and the softmax maps
 * [B, K, H, W]. The peak is each map's largest logit, or with a `prior`, the local maxima the
 * prior believes together (distancePrior.ts). The loops read the logits in memory order (this
 * runs on the job's thread for every predicted batch, while TensorFlow's threads wait).
 */
export function decodeHeatmapLogits(
  values: Float32Array,
  [b, h, w, k]: readonly [number, number, number, number],
  stride: number,
  prior: DistancePrior | null = null,
): { coords: Float32Array; confidence: Float32Array; heatmaps: HeatmapBatch } {
  const cells = h * w;
  const coords = new Float32Array(b * k * 2);
  const confidence = new Float32Array(b * k);
  const maps = new Float32Array(b * k * cells);
  const best = new Float32Array(k);
  const peak = new Int32Array(k);
  const total = new Float64Array(k);
  for (let n = 0; n < b; n++) {
    const base = n * cells * k;
    const at = (j: number, i: number, c: number): number => values[base + (i * w + c) * k + j]!;
    best.fill(-Infinity);
    peak.fill(0);
    // the first largest logit of each keypoint, in row-major order
    for (let p = 0; p < cells; p++)
      for (let j = 0, o = base + p * k; j < k; j++, o++)
        if (values[o]! > best[j]!) {
          best[j] = values[o]!;
          peak[j] = p;
        }
    total.fill(0);
    for (let p = 0; p < cells; p++)
      for (let j = 0, o = base + p * k; j < k; j++, o++) {
        const e = Math.exp(values[o]! - best[j]!);
        maps[(n * k + j) * cells + p] = e;
        total[j]! += e;
      }
    if (prior && prior.pairs.length > 0) {
      const candidates = Array.from({ length: k }, (_, j) =>
        localMaxima((i, c) => at(j, i, c), h, w, DISTANCE_PRIOR_DECODING.candidates).map((p) => ({
          cell: p,
          x: ((p % w) + 0.5) * stride,
          y: (Math.floor(p / w) + 0.5) * stride,
          logProbability: values[base + p * k + j]! - best[j]! - Math.log(total[j]!),
        })),
      );
      choosePeaks(candidates, prior, w * stride).forEach((chosen, j) => (peak[j] = candidates[j]![chosen]!.cell));
    }
    for (let j = 0; j < k; j++) {
      const bi = Math.floor(peak[j]! / w);
      const bc = peak[j]! - bi * w;
      const top = at(j, bi, bc);
      const dx = bc > 0 && bc < w - 1 ? parabolaOffset(at(j, bi, bc - 1), top, at(j, bi, bc + 1)) : 0;
      const dy = bi > 0 && bi < h - 1 ? parabolaOffset(at(j, bi - 1, bc), top, at(j, bi + 1, bc)) : 0;
      coords[(n * k + j) * 2] = (bc + 0.5 + dx) * stride;
      coords[(n * k + j) * 2 + 1] = (bi + 0.5 + dy) * stride;
      const map = maps.subarray((n * k + j) * cells, (n * k + j + 1) * cells);
      let near = 0;
      for (let i = Math.max(0, bi - 1); i <= Math.min(h - 1, bi + 1); i++)
        for (let c = Math.max(0, bc - 1); c <= Math.min(w - 1, bc + 1); c++) near += map[i * w + c]!;
      confidence[n * k + j] = near / total[j]!;
      const scale = 1 / total[j]!;
      for (let p = 0; p < cells; p++) map[p]! *= scale;
    }
  }
  return { coords, confidence, heatmaps: { width: w, height: h, values: maps } };
}

/** The `count` largest local maxima (no larger neighbour among the 8) of an h x w map, as cells, largest first. */
function localMaxima(value: (i: number, c: number) => number, h: number, w: number, count: number): number[] {
  const found: { cell: number; value: number }[] = [];
  for (let i = 0; i < h; i++)
    for (let c = 0; c < w; c++) {
      const v = value(i, c);
      if (found.length === count && v <= found[count - 1]!.value) continue;
      let isMax = true;
      for (let di = -1; di <= 1 && isMax; di++)
        for (let dc = -1; dc <= 1; dc++) {
          const y = i + di;
          const x = c + dc;
          if ((di || dc) && y >= 0 && y < h && x >= 0 && x < w && value(y, x) > v) {
            isMax = false;
            break;
          }
        }
      if (!isMax) continue;
      let at = found.length;
      while (at > 0 && found[at - 1]!.value < v) at--;
      found.splice(at, 0, { cell: i * w + c, value: v });
      if (found.length > count) found.pop();
    }
  return found.map((f) => f.cell);
}
