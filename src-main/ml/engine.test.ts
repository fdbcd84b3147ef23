// The native backend must compute what the reference (pure-JS cpu) backend computes: gradients
// of every op the networks and losses use, on small random inputs, within 1e-4 relative error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { engineInfo, formatEngineInfo, initEngine, parseBackendChoice, tf } from './engine.js';
import { batchNorm, conv2d, maxPoolAfterRelu } from './backbones/layers.js';
import type { BatchNormParams, ConvParams } from './backbones/layers.js';
import { relu, softmaxCrossEntropy } from './backbones/nativeOps.js';
import { resizeBilinear } from './hypercolumn.js';
import { denseContrastLoss, featuresAtPoints } from './pretrain/denseContrast.js';
import { relativeError } from './numericTestKit.js';
import { softArgmax } from './softArgmax.js';

/** Deterministic inputs (mulberry32), identical on both backends. */
function randoms(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return out;
}

interface GradCase {
  name: string;
  shapes: number[][];
  /** Output of the op; the test reduces it with a fixed random projection (plain sum would
   * make e.g. softmax's gradient identically zero). */
  f: (...xs: Tensor[]) => Tensor;
}

const conv = (w: Tensor, stride: number, pad: number): ConvParams => ({
  weight: w as never,
  bias: null,
  kernel: w.shape[0]!,
  stride,
  pad,
});
const bnParams = (gamma: Tensor, beta: Tensor): BatchNormParams => ({
  gamma: gamma as never,
  beta: beta as never,
  movingMean: tf.variable(tf.zeros([gamma.size]), false),
  movingVariance: tf.variable(tf.ones([gamma.size]), false),
  momentum: 0.1,
  epsilon: 1e-5,
});

const CASES: GradCase[] = [
  {
    name: 'conv2d 3x3 stride 1 (same)',
    shapes: [
      [2, 7, 7, 3],
      [3, 3, 3, 4],
    ],
    f: (x, w) => conv2d(x as Tensor4D, conv(w!, 1, 1)),
  },
  {
    name: 'conv2d 3x3 stride 2 (symmetric pad)',
    shapes: [
      [2, 8, 8, 3],
      [3, 3, 3, 4],
    ],
    f: (x, w) => conv2d(x as Tensor4D, conv(w!, 2, 1)),
  },
  {
    name: 'conv2d 7x7 stride 2 (stem)',
    shapes: [
      [1, 12, 12, 3],
      [7, 7, 3, 5],
    ],
    f: (x, w) => conv2d(x as Tensor4D, conv(w!, 2, 3)),
  },
  {
    name: 'conv2d 1x1 stride 2 (downsample)',
    shapes: [
      [2, 6, 6, 4],
      [1, 1, 4, 6],
    ],
    f: (x, w) => conv2d(x as Tensor4D, conv(w!, 2, 0)),
  },
  {
    name: 'batch norm (training: batch statistics, native FusedBatchNormV3)',
    shapes: [[4, 5, 5, 3], [3], [3]],
    f: (x, g, b) => {
      const p = bnParams(g!, b!);
      const y = batchNorm(x as Tensor4D, p, true);
      tf.dispose([p.movingMean, p.movingVariance]);
      return y;
    },
  },
  {
    name: 'batch norm in 3 groups (split batch norm)',
    shapes: [[7, 3, 3, 2], [2], [2]],
    f: (x, g, b) => {
      const p = bnParams(g!, b!);
      const y = batchNorm(x as Tensor4D, p, true, 3);
      tf.dispose([p.movingMean, p.movingVariance]);
      return y;
    },
  },
  {
    name: 'batch norm (inference: moving statistics)',
    shapes: [[2, 4, 4, 3], [3], [3]],
    f: (x, g, b) =>
      tf.batchNorm(
        x as Tensor4D,
        tf.fill([3], 0.1) as Tensor1D,
        tf.fill([3], 2) as Tensor1D,
        b as Tensor1D,
        g as Tensor1D,
        1e-5,
      ),
  },
  { name: 'relu (native ReluGrad)', shapes: [[3, 17]], f: (x) => relu(x) },
  {
    name: 'residual add + relu',
    shapes: [
      [2, 3, 3, 4],
      [2, 3, 3, 4],
    ],
    f: (a, b) => relu(tf.add(a, b)),
  },
  {
    name: 'max pool 3x3/2 pad 1 (stem)',
    shapes: [[2, 8, 8, 3]],
    f: (x) => maxPoolAfterRelu(tf.relu(x) as Tensor4D, 3, 2, 1),
  },
  { name: 'max pool 2x2/2', shapes: [[2, 6, 6, 3]], f: (x) => tf.maxPool(x as Tensor4D, 2, 2, 'valid') },
  { name: 'resize bilinear up (half-pixel)', shapes: [[2, 3, 4, 2]], f: (x) => resizeBilinear(x as Tensor4D, [12, 8]) },
  {
    name: 'resize bilinear down (half-pixel)',
    shapes: [[1, 9, 8, 2]],
    f: (x) => resizeBilinear(x as Tensor4D, [4, 3]),
  },
  { name: 'softmax', shapes: [[4, 9]], f: (x) => tf.softmax(tf.mul(x, 4)) },
  {
    name: 'matMul',
    shapes: [
      [5, 7],
      [7, 3],
    ],
    f: (a, b) => tf.matMul(a as never, b as never),
  },
  { name: 'softArgmax', shapes: [[2, 5, 6, 3]], f: (x) => softArgmax(tf.mul(x, 6) as Tensor4D, 0.5) },
  {
    name: 'mean + square + log-softmax (losses)',
    shapes: [[3, 6]],
    f: (x) => tf.add(tf.logSoftmax(x), tf.square(tf.mean(x, 1, true))),
  },
  {
    // Rows of labels: a distribution, another, and all zeros (a masked landmark: loss 0).
    name: 'softmax cross-entropy (native SoftmaxCrossEntropyWithLogits, heatmap loss)',
    shapes: [[3, 7]],
    f: (x) =>
      softmaxCrossEntropy(
        tf.mul(x, 4) as Tensor2D,
        tf.tensor2d([0.1, 0.2, 0.7, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0], [3, 7]),
      ),
  },
  {
    name: 'bilinear features at points (gather, dense contrastive)',
    shapes: [[2, 5, 6, 3]],
    f: (x) =>
      featuresAtPoints(
        x as Tensor4D,
        4,
        Int32Array.from([0, 1, 1, 0]),
        Float32Array.from([1, 1, 9.3, 5.5, 23.9, 19.9, 13.1, 7.7]),
      ),
  },
  {
    name: 'dense contrastive loss (Eq. 7 of paper 003)',
    shapes: [
      [5, 4],
      [5, 4],
    ],
    f: (a, b) => denseContrastLoss(a as Tensor2D, b as Tensor2D, 0.5),
  },
];

/** Gradients of sum(f(xs) * r) with respect to every input, as plain arrays. */
function gradsOn(backend: string, c: GradCase, seed: number): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = c.shapes.map((s, i) =>
      tf.tensor(
        randoms(
          s.reduce((a, b) => a * b, 1),
          seed + i,
        ),
        s,
      ),
    );
    const out = c.f(...xs);
    const r = tf.tensor(randoms(out.size, seed + 100), out.shape);
    const loss = (...args: Tensor[]) => tf.sum(tf.mul(c.f(...args), r));
    out.dispose();
    return tf
      .grads(loss)(xs)
      .map((g) => g.dataSync() as Float32Array);
  });
}

describe('compute engine', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'tensorflow' });
  });
  afterAll(() => {
    tf.setBackend('tensorflow');
  });

  it('runs the native TensorFlow backend on this machine and reports it on one line', () => {
    const info = engineInfo()!;
    expect(info.backend).toBe('tensorflow');
    expect(info.tfVersion).toMatch(/^tfjs 4\.\d+\.\d+, libtensorflow \d+\.\d+/);
    const line = formatEngineInfo(info);
    expect(line).toContain('backend=tensorflow');
    expect(line).not.toContain('\n');
  });

  it('rejects an unknown LANDMARK_STUDIO_BACKEND value with the allowed ones', () => {
    expect(parseBackendChoice('tensorflow')).toBe('tensorflow');
    expect(parseBackendChoice(undefined)).toBeUndefined();
    expect(() => parseBackendChoice('webgpu')).toThrow(/gpu, tensorflow, cpu/);
  });

  it('forcing the cpu backend switches to it and reports it', async () => {
    const info = await initEngine({ backend: 'cpu' });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const back = await initEngine({ backend: 'tensorflow' });
    expect(back.backend).toBe('tensorflow');
  });

  for (const c of CASES) {
    it(`gradient of ${c.name}: tensorflow matches cpu within 1e-4`, () => {
      const reference = gradsOn('cpu', c, 7);
      const native = gradsOn('tensorflow', c, 7);
      expect(native.length).toBe(c.shapes.length);
      native.forEach((g, i) => {
        const ref = reference[i]!;
        expect(ref.some((v) => v !== 0)).toBe(true); // a zero gradient would make the check vacuous
        expect(relativeError(g, ref)).toBeLessThan(1e-4);
      });
    });
  }
});
