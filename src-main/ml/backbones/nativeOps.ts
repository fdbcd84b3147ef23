/**
 * Training ops that call libtensorflow's own fused kernels when the native backend runs.
 *
 * tfjs differentiates batch norm and ReLU with composite gradients built from ~20 and ~6 small
 * ops (rsqrt, tile, step, select, ...), each a separate eager call over a full activation
 * tensor: about a third of a ResNet-18 training step on tfjs-node (bench/README.md). TensorFlow
 * has one kernel for each (FusedBatchNormV3/FusedBatchNormGradV3, ReluGrad), which is what
 * PyTorch-speed training needs. Likewise a spatial cross-entropy is one
 * SoftmaxCrossEntropyWithLogits (loss and gradient together) instead of a log-softmax and its
 * gradient, and a half-pixel bilinear resize has its gradient in one ResizeBilinearGrad
 * (tfjs-node's own kernel for it drops half_pixel_centers) instead of two matrix products and six
 * transposes. On other backends these functions fall back to tfjs's ops; the gradient tests
 * (engine.test.ts) compare both paths.
 */
import { tf } from '../engine.js';
import { nativeBackend, type NativeBinding, type OpAttr } from '../nativeBackend.js';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';

const floatType = (b: NativeBinding): OpAttr => ({ name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT });

/** ReLU whose gradient is TensorFlow's ReluGrad (one op) on the native backend. */
export function relu<T extends Tensor>(x: T): T {
  const native = nativeBackend();
  if (!native) return tf.relu(x);
  const float = floatType(native.binding);
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

/** Sizes of `groups` nearly equal consecutive sub-batches of `batch` images. */
export function subBatchSizes(batch: number, groups: number): number[] {
  return Array.from(
    { length: groups },
    (_, i) => Math.floor(((i + 1) * batch) / groups) - Math.floor((i * batch) / groups),
  );
}

/**
 * Training-mode batch norm over N, H, W: normalises with the batch mean and biased variance and
 * moves the moving averages by `momentum` towards the batch mean and unbiased variance
 * (PyTorch's rule; FusedBatchNormV3's exponential_avg_factor does exactly this).
 * The moving averages never receive gradients.
 *
 * groups > 1 is split batch norm (MoCo's one-device ShuffleBN): each of `groups` consecutive
 * sub-batches (subBatchSizes) is normalised with its own statistics, and the moving averages move
 * once per sub-batch, in order, exactly as if each sub-batch ran through the network on its own.
 * The convolutions around it then run once on the whole batch, which is faster on the CPU than
 * one pass per sub-batch (larger matrix products, a quarter of the calls).
 */
export function batchNormTraining(x: Tensor4D, p: BatchStatistics, groups = 1): Tensor4D {
  const batch = x.shape[0];
  if (!Number.isInteger(groups) || groups < 1 || groups > batch)
    throw new Error(`batch norm groups must be an integer from 1 to the batch size ${batch}; got ${groups}`);
  const sizes = subBatchSizes(batch, groups);
  const native = nativeBackend();
  if (!native) {
    if (groups === 1) return batchNormTrainingComposite(x, p);
    return tf.tidy(() => tf.concat(tf.split(x, sizes).map((part) => batchNormTrainingComposite(part as Tensor4D, p))));
  }
  const b = native.binding;
  const common = [
    floatType(b),
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: p.epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
  const forwardAttrs = [...common, { name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: p.momentum }];
  // Splitting along the batch axis is free in TensorFlow (the parts share the input's buffer);
  // only the concatenations copy.
  const split = (t: Tensor): Tensor[] => (groups === 1 ? [t] : tf.split(t, sizes));
  return tf.customGrad<Tensor4D>((...args) => {
    const [input, gamma, beta, save] = args as [Tensor4D, Tensor, Tensor, (t: Tensor[]) => void];
    // Runs inside a tidy (customGrad's forward): the intermediate moving averages are freed.
    let runningMean: Tensor = p.movingMean;
    let runningVariance: Tensor = p.movingVariance;
    const ys: Tensor[] = [];
    const saved: Tensor[] = [gamma];
    for (const part of split(input)) {
      const [y, mean, variance, r1, r2, r3] = native.executeMultipleOutputs(
        'FusedBatchNormV3',
        forwardAttrs,
        [part, gamma, beta, runningMean, runningVariance],
        6,
      );
      runningMean = mean!;
      runningVariance = variance!;
      ys.push(y!);
      saved.push(part, r1!, r2!, r3!);
    }
    p.movingMean.assign(runningMean);
    p.movingVariance.assign(runningVariance);
    save(saved);
    return {
      value: (groups === 1 ? ys[0]! : tf.concat(ys)) as Tensor4D,
      gradFunc: (dy: Tensor4D, kept: Tensor[]) => {
        const [keptGamma, ...perGroup] = kept;
        const dxs: Tensor[] = [];
        const dGammas: Tensor[] = [];
        const dBetas: Tensor[] = [];
        split(dy).forEach((dyPart, g) => {
          const [dx, dGamma, dBeta, ...spare] = native.executeMultipleOutputs(
            'FusedBatchNormGradV3',
            common,
            [dyPart, perGroup[4 * g]!, keptGamma!, ...perGroup.slice(4 * g + 1, 4 * g + 4)],
            5,
          );
          tf.dispose(spare);
          dxs.push(dx!);
          dGammas.push(dGamma!);
          dBetas.push(dBeta!);
        });
        if (groups === 1) return [dxs[0]!, dGammas[0]!, dBetas[0]!];
        const grads = [tf.concat(dxs), tf.addN(dGammas), tf.addN(dBetas)];
        tf.dispose([...dxs, ...dGammas, ...dBetas]);
        return grads;
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

/**
 * Cross-entropy of each row of `logits` [N, C] against the same row of `labels` [N, C], each a
 * distribution (summing to 1) or all zeros (loss and gradient 0): -sum(labels * logSoftmax(logits)).
 * Differentiable in the logits only (labels are targets, not learnt).
 */
export function softmaxCrossEntropy(logits: Tensor2D, labels: Tensor2D): Tensor1D {
  const native = nativeBackend();
  if (!native) {
    return tf.tidy(() => tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)) as Tensor1D);
  }
  return tf.customGrad<Tensor1D>((...args) => {
    const [z, save] = args as [Tensor2D, (t: Tensor[]) => void];
    const [loss, backprop] = native.executeMultipleOutputs(
      'SoftmaxCrossEntropyWithLogits',
      [floatType(native.binding)],
      [z, labels],
      2,
    );
    // d loss_i / d z_ij = softmax(z)_ij * sum_j(labels_ij) - labels_ij: the op's `backprop`
    // (softmax - labels) for a distribution, 0 for a row of zeros (the op assumes rows sum to 1).
    save([backprop!, tf.sum(labels, 1)]);
    return {
      value: loss as Tensor1D,
      gradFunc: (dy: Tensor1D, kept: Tensor[]) => tf.mul(kept[0]!, tf.expandDims(tf.mul(dy, kept[1]!), 1)),
    };
  })(logits);
}

/**
 * Gradient of tf.image.resizeBilinear(x, size, false, true) (half-pixel centres) for upstream
 * gradient `dy`, as TensorFlow's ResizeBilinearGrad; null on other backends.
 */
export function resizeBilinearHalfPixelGrad(dy: Tensor4D, x: Tensor4D): Tensor4D | null {
  const native = nativeBackend();
  if (!native) return null;
  const b = native.binding;
  return native.executeSingleOutput(
    'ResizeBilinearGrad',
    [
      floatType(b),
      { name: 'align_corners', type: b.TF_ATTR_BOOL, value: false },
      { name: 'half_pixel_centers', type: b.TF_ATTR_BOOL, value: true },
    ],
    [dy, x],
  ) as Tensor4D;
}
