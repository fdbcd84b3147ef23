// MoCo v2's projection head (Chen et al. 2020, "Improved Baselines"): the backbone's pooled
// features through fc -> ReLU -> fc, then L2-normalised, so InfoNCE compares cosine similarities.
// Weights are named as in MoCo v2's PyTorch code (encoder.fc = Sequential(Linear, ReLU, Linear):
// fc.0.*, fc.2.*) but stored [in, out] for matMul; PyTorch's Linear keeps [out, in].
import { relu } from '../backbones/nativeOps.js';
import { tf } from '../engine.js';
import type { Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';

export interface ProjectionHead {
  /** Every weight by name: what save/load, copies and EMA updates work on. */
  readonly weights: ReadonlyMap<string, Variable>;
  /** [B, featureWidth] pooled features -> [B, outDim] unit vectors. */
  apply(features: Tensor2D): Tensor2D;
  dispose(): void;
}

export interface ProjectionHeadSpec {
  inDim: number;
  hiddenDim: number;
  outDim: number;
  seed: number;
  /** false for MoCo's key encoder, which only receives EMA updates. */
  trainable: boolean;
}

/** PyTorch's default Linear initialisation: weight and bias uniform in +-1/sqrt(fan_in). */
function linear(inDim: number, outDim: number, seed: number, trainable: boolean): [Variable, Variable] {
  const bound = 1 / Math.sqrt(inDim);
  return tf.tidy(() => [
    tf.variable(tf.randomUniform([inDim, outDim], -bound, bound, 'float32', seed), trainable),
    tf.variable(tf.randomUniform([outDim], -bound, bound, 'float32', seed + 1), trainable),
  ]);
}

export function createProjectionHead(spec: ProjectionHeadSpec): ProjectionHead {
  const [w0, b0] = linear(spec.inDim, spec.hiddenDim, spec.seed, spec.trainable);
  const [w2, b2] = linear(spec.hiddenDim, spec.outDim, spec.seed + 2, spec.trainable);
  const weights = new Map<string, Variable>([
    ['fc.0.weight', w0],
    ['fc.0.bias', b0],
    ['fc.2.weight', w2],
    ['fc.2.bias', b2],
  ]);
  return {
    weights,
    apply(features: Tensor2D): Tensor2D {
      if (features.rank !== 2 || features.shape[1] !== spec.inDim) {
        throw new Error(`projection head expects [B, ${spec.inDim}] features, got shape [${features.shape}]`);
      }
      return tf.tidy(() => {
        const hidden = relu(tf.add(tf.matMul(features, w0 as Tensor2D), b0));
        const out = tf.add(tf.matMul(hidden, w2 as Tensor2D), b2) as Tensor2D;
        return l2Normalize(out);
      });
    },
    dispose(): void {
      for (const v of weights.values()) v.dispose();
      weights.clear();
    },
  };
}

/**
 * Rows scaled to unit length (a tiny floor keeps an all-zero row finite, as F.normalize). Its
 * gradient by hand, dx = (dy - y sum(dy * y)) / |x|: four kernels where autodiff of the norm
 * launches a dozen (pow, select, step, ...).
 */
export function l2Normalize(x: Tensor2D): Tensor2D {
  return tf.customGrad((...args) => {
    const [input, save] = args as [Tensor, (tensors: Tensor[]) => void];
    const length = tf.sqrt(tf.maximum(tf.sum(tf.square(input), 1, true), 1e-24));
    const y = tf.div(input, length);
    save([y, length]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [ys, ls] = saved as [Tensor, Tensor];
        return tf.div(tf.sub(dy, tf.mul(ys, tf.sum(tf.mul(dy, ys), 1, true))), ls);
      },
    };
  })(x) as Tensor2D;
}
