/**
 * Training ops that call libtensorflow's own fused kernels when the native backend runs.
 *
 * tfjs differentiates batch norm and ReLU with composite gradients built from ~20 and ~6 small
 * ops (rsqrt, tile, step, select, ...), each a separate eager call over a full activation
 * tensor: about a third of a ResNet-18 training step on tfjs-node (bench/README.md). TensorFlow
 * has one kernel for each (FusedBatchNormV3/FusedBatchNormGradV3, ReluGrad), which is what
 * PyTorch-speed training needs. On other backends these functions fall back to tfjs's ops; the
 * gradient tests (engine.test.ts) compare both paths.
 */
import { tf } from '../engine.js';
import type { Tensor, Tensor1D, Tensor4D, Variable } from '@tensorflow/tfjs';

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean | string | number[];
}

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackend {
  binding: Record<'TF_FLOAT' | 'TF_ATTR_TYPE' | 'TF_ATTR_FLOAT' | 'TF_ATTR_STRING' | 'TF_ATTR_BOOL', number>;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
}

function nativeBackend(): NativeBackend | null {
  return tf.getBackend() === 'tensorflow' ? (tf.backend() as unknown as NativeBackend) : null;
}

/** ReLU whose gradient is TensorFlow's ReluGrad (one op) on the native backend. */
export function relu<T extends Tensor>(x: T): T {
  const native = nativeBackend();
  if (!native) return tf.relu(x);
  const float = { name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT };
  return tf.customGrad<T>((...args) => {
    const [input, save] = args as [T, (t: Tensor[]) => void];
    const y = tf.relu(input);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: T, saved: Tensor[]) => native.executeSingleOutput('ReluGrad', [float], [dy, saved[0]!]),
    };
  })(x);
}

export interface BatchStatistics {
  gamma: Tensor1D | Variable;
  beta: Tensor1D | Variable;
  movingMean: Variable;
  movingVariance: Variable;
  momentum: number;
  epsilon: number;
}

/**
 * Training-mode batch norm over N, H, W: normalises with the batch mean and biased variance and
 * moves the moving averages by `momentum` towards the batch mean and unbiased variance
 * (PyTorch's rule; FusedBatchNormV3's exponential_avg_factor does exactly this).
 * The moving averages never receive gradients.
 */
export function batchNormTraining(x: Tensor4D, p: BatchStatistics): Tensor4D {
  const native = nativeBackend();
  if (!native) return batchNormTrainingComposite(x, p);
  const b = native.binding;
  const common = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: p.epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
  const forwardAttrs = [...common, { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: p.momentum }];
  return tf.customGrad<Tensor4D>((...args) => {
    const [input, gamma, beta, save] = args as [Tensor4D, Tensor, Tensor, (t: Tensor[]) => void];
    const [y, runningMean, runningVariance, r1, r2, r3] = native.executeMultipleOutputs(
      'FusedBatchNormV3',
      forwardAttrs,
      [input, gamma, beta, p.movingMean, p.movingVariance],
      6,
    );
    p.movingMean.assign(runningMean!);
    p.movingVariance.assign(runningVariance!);
    save([input, gamma, r1!, r2!, r3!]);
    return {
      value: y as Tensor4D,
      gradFunc: (dy: Tensor4D, saved: Tensor[]) => {
        const [dx, dGamma, dBeta, ...spare] = native.executeMultipleOutputs(
          'FusedBatchNormGradV3',
          common,
          [dy, ...saved],
          5,
        );
        tf.dispose(spare);
        return [dx!, dGamma!, dBeta!];
      },
    };
  })(x, p.gamma, p.beta);
}

function batchNormTrainingComposite(x: Tensor4D, p: BatchStatistics): Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const [n, h, w] = x.shape;
  const count = n * h * w;
  tf.tidy(() => {
    const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance;
    p.movingMean.assign(tf.add(tf.mul(p.movingMean, 1 - p.momentum), tf.mul(mean, p.momentum)));
    p.movingVariance.assign(tf.add(tf.mul(p.movingVariance, 1 - p.momentum), tf.mul(unbiased, p.momentum)));
  });
  return tf.batchNorm(x, mean as Tensor1D, variance as Tensor1D, p.beta as Tensor1D, p.gamma as Tensor1D, p.epsilon);
}
