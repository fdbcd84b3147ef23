/**
 * Building blocks of the backbones, written as plain functions over tf.Variables (no tf.layers):
 * the networks are small, run in training and inference mode, need per-stage freezing and a
 * second EMA copy for MoCo, and tf.layers adds bookkeeping to every call for none of that.
 *
 * Layout: NHWC activations, HWIO conv kernels (TensorFlow's); PyTorch OIHW kernels map to these
 * by transposing [2, 3, 1, 0]. Padding is symmetric like PyTorch's, so shapes and values match
 * torchvision for the same weights (TF 'same' pads the bottom/right more on even inputs).
 */
import { tf } from '../engine.js';
import type { Tensor, Tensor1D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { batchNormTraining } from './nativeOps.js';

export interface ConvParams {
  /** [kernel, kernel, in, out] */
  weight: Variable;
  bias: Variable | null;
  kernel: number;
  stride: number;
  /** Symmetric zero padding on each side (PyTorch's `padding`). */
  pad: number;
}

/** Batch norm with PyTorch's conventions (momentum 0.1, eps 1e-5, unbiased running variance). */
export interface BatchNormParams {
  gamma: Variable;
  beta: Variable;
  movingMean: Variable;
  movingVariance: Variable;
  /** Weight of the new batch in the moving averages: moving = (1 - m) * moving + m * batch. */
  momentum: number;
  epsilon: number;
}

export interface ParameterInfo {
  variable: Variable;
  /** Stage the parameter belongs to (fine-tuning freezes or trains whole stages). */
  stage: string;
  /** False for batch-norm moving statistics: saved and copied, never given gradients. */
  trainable: boolean;
}

/**
 * Creates and names a network's variables. Names follow torchvision's state_dict
 * (`layer1.0.conv1.weight`, `bn1.running_mean`) so weights map one-to-one.
 * tf.Variables get automatic unique ids: two copies of a network (MoCo's query and key encoders)
 * can coexist, which fixed tfjs variable names would forbid.
 */
export class ParameterSet {
  readonly params = new Map<string, ParameterInfo>();
  private nextSeed: number;

  /**
   * @param seed base seed of the initialisers (each variable gets seed + its index).
   * @param trainable false for copies that only receive EMA updates (MoCo's key encoder).
   * @param randomInit false: weights start at zero, for a network whose every weight is assigned
   *   right after (a saved model being loaded): skips the seeded draws (0.3-0.5 s for ResNet-18 here).
   */
  constructor(
    seed: number,
    private readonly trainable: boolean,
    private readonly randomInit = true,
  ) {
    this.nextSeed = seed;
  }

  private add(name: string, stage: string, value: Tensor, trainable: boolean): Variable {
    if (this.params.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const variable = tf.variable(value, trainable && this.trainable);
    value.dispose();
    this.params.set(name, { variable, stage, trainable });
    return variable;
  }

  /** Conv weights: Kaiming normal, fan-out, ReLU gain (torchvision's ResNet initialisation). */
  conv(
    name: string,
    stage: string,
    spec: { in: number; out: number; kernel: number; stride?: number; pad?: number; bias?: boolean },
  ): ConvParams {
    const { kernel } = spec;
    const std = Math.sqrt(2 / (kernel * kernel * spec.out));
    const weight = this.add(
      `${name}.weight`,
      stage,
      this.randomInit
        ? tf.randomNormal([kernel, kernel, spec.in, spec.out], 0, std, 'float32', this.nextSeed++)
        : tf.zeros([kernel, kernel, spec.in, spec.out]),
      true,
    );
    const bias = spec.bias ? this.add(`${name}.bias`, stage, tf.zeros([spec.out]), true) : null;
    return { weight, bias, kernel, stride: spec.stride ?? 1, pad: spec.pad ?? 0 };
  }

  batchNorm(name: string, stage: string, channels: number): BatchNormParams {
    return {
      gamma: this.add(`${name}.weight`, stage, tf.ones([channels]), true),
      beta: this.add(`${name}.bias`, stage, tf.zeros([channels]), true),
      movingMean: this.add(`${name}.running_mean`, stage, tf.zeros([channels]), false),
      movingVariance: this.add(`${name}.running_var`, stage, tf.ones([channels]), false),
      momentum: 0.1,
      epsilon: 1e-5,
    };
  }

  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    this.params.clear();
  }
}

/** TF 'same' padding (before, after) along one axis, to see whether it equals PyTorch's. */
function samePadding(size: number, kernel: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * Pads symmetrically by `pad` and runs `op` with 'valid' padding, or runs it with 'same' when
 * TF's 'same' gives exactly that padding (saves a pad op and its gradient).
 */
function withSymmetricPad(
  x: Tensor4D,
  kernel: number,
  stride: number,
  pad: number,
  op: (x: Tensor4D, padding: 'same' | 'valid') => Tensor4D,
): Tensor4D {
  if (pad === 0) return op(x, 'valid');
  const [, h, w] = x.shape;
  const [ht, hb] = samePadding(h, kernel, stride);
  const [wl, wr] = samePadding(w, kernel, stride);
  if (ht === pad && hb === pad && wl === pad && wr === pad) return op(x, 'same');
  return op(
    tf.pad(x, [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ]),
    'valid',
  );
}

export function conv2d(x: Tensor4D, p: ConvParams): Tensor4D {
  const y = withSymmetricPad(x, p.kernel, p.stride, p.pad, (input, padding) =>
    tf.conv2d(input, p.weight as Tensor4D, p.stride, padding),
  );
  return p.bias ? tf.add(y, p.bias) : y;
}

/**
 * 3x3 stride-2 max pool with 1 pixel of padding (torchvision's stem). The input must be >= 0
 * (it follows a ReLU): then zero padding equals PyTorch's -inf padding, since every window holds
 * at least one real value >= 0.
 */
export function maxPoolAfterRelu(x: Tensor4D, kernel: number, stride: number, pad: number): Tensor4D {
  return withSymmetricPad(x, kernel, stride, pad, (input, padding) => tf.maxPool(input, kernel, stride, padding));
}

/**
 * Batch normalisation over N, H, W.
 * training = true: batch mean and (biased) variance, and the moving averages move towards the
 * batch statistics (unbiased variance, as PyTorch), see nativeOps.batchNormTraining.
 * training = false: the moving averages. Safe inside tf.grads/variableGrads: the moving averages
 * never receive gradients. groups > 1 (training only): statistics per consecutive sub-batch,
 * split batch norm (nativeOps.batchNormTraining).
 */
export function batchNorm(x: Tensor4D, p: BatchNormParams, training: boolean, groups = 1): Tensor4D {
  if (training) return batchNormTraining(x, p, groups);
  return tf.batchNorm(
    x,
    p.movingMean as Tensor1D,
    p.movingVariance as Tensor1D,
    p.beta as Tensor1D,
    p.gamma as Tensor1D,
    p.epsilon,
  );
}
