import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from '../engine.js';
import { batchNorm, conv2d, maxPoolAfterRelu, ParameterSet, type BatchNormParams } from './layers.js';

describe('backbone layers', () => {
  let params: ParameterSet;
  beforeAll(async () => {
    await initEngine();
  });
  afterEach(() => params?.dispose());

  it('batch norm in training mode normalises with the batch statistics', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 3);
    const x = tf.add(tf.mul(tf.randomNormal([8, 5, 5, 3]), [1, 4, 0.5]), [3, -2, 10]) as Tensor4D;
    const { mean, variance } = tf.moments(batchNorm(x, bn, true), [0, 1, 2]);
    for (const m of mean.dataSync()) expect(Math.abs(m)).toBeLessThan(1e-4);
    for (const v of variance.dataSync()) expect(v).toBeCloseTo(1, 3);
  });

  it('training mode moves the moving averages by momentum 0.1, with the unbiased variance (PyTorch)', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 2);
    const x = tf.tensor4d([1, 10, 3, 20, 5, 30, 7, 40], [4, 1, 1, 2]);
    batchNorm(x, bn, true).dispose();
    // channel 0: mean 4, unbiased variance 20/3; channel 1: mean 25, unbiased variance 500/3
    const mm = bn.movingMean.dataSync();
    const mv = bn.movingVariance.dataSync();
    expect(mm[0]).toBeCloseTo(0.9 * 0 + 0.1 * 4, 5);
    expect(mm[1]).toBeCloseTo(0.1 * 25, 5);
    expect(mv[0]).toBeCloseTo(0.9 * 1 + 0.1 * (20 / 3), 4);
    expect(mv[1]).toBeCloseTo(0.9 * 1 + 0.1 * (500 / 3), 3);
  });

  it('inference mode uses the moving averages and leaves them alone', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 1);
    bn.movingMean.assign(tf.tensor1d([2]));
    bn.movingVariance.assign(tf.tensor1d([4]));
    const y = batchNorm(tf.tensor4d([2, 6], [2, 1, 1, 1]), bn, false).dataSync();
    expect(y[0]).toBeCloseTo(0, 5);
    expect(y[1]).toBeCloseTo(2, 3); // (6 - 2) / sqrt(4 + 1e-5)
    expect(bn.movingMean.dataSync()[0]).toBe(2);
  });

  it('the moving-average update receives no gradient and does not disturb the layer gradient', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 2);
    const x = tf.randomNormal([4, 3, 3, 2]) as Tensor4D;
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(batchNorm(x, bn, true))), [bn.gamma, bn.beta]);
    expect(Object.keys(grads).length).toBe(2);
    // sum of squares of a normalised output: d/dbeta = 2 * sum(y) = 0, d/dgamma = 2 * N (per channel)
    for (const g of grads[bn.beta.name]!.dataSync()) expect(Math.abs(g)).toBeLessThan(1e-3);
    for (const g of grads[bn.gamma.name]!.dataSync()) expect(g).toBeCloseTo(2 * 36, 1);
  });

  it('batch norm in groups equals one pass per sub-batch: outputs, gradients and moving averages', () => {
    params = new ParameterSet(1, true);
    const grouped = params.batchNorm('grouped', 's', 3);
    const single = params.batchNorm('single', 's', 3);
    // Sub-batches of 2, 3 and 3 images (subBatchSizes(8, 3)) with different statistics each.
    const x = tf.add(
      tf.mul(
        tf.randomNormal([8, 4, 4, 3], 0, 1, 'float32', 3),
        tf.tensor4d([1, 1, 3, 3, 3, 0.5, 0.5, 0.5], [8, 1, 1, 1]),
      ),
      tf.tensor4d([0, 0, 5, 5, 5, -2, -2, -2], [8, 1, 1, 1]),
    ) as Tensor4D;
    const r = tf.randomNormal([8, 4, 4, 3], 0, 1, 'float32', 4);
    for (const bn of [grouped, single]) {
      bn.gamma.assign(tf.tensor1d([1.5, 0.5, 2]));
      bn.beta.assign(tf.tensor1d([0.1, -0.3, 0.2]));
    }
    // Gradients of sum(batchNorm(input) * weights) with respect to input, gamma and beta.
    const gradsOf = (bn: BatchNormParams, groups: number, input: Tensor4D, weights: Tensor): Tensor[] =>
      tf.grads((...[xs, gamma, beta]: Tensor[]) =>
        tf.sum(
          tf.mul(
            batchNorm(xs as Tensor4D, { ...bn, gamma: gamma as never, beta: beta as never }, true, groups),
            weights,
          ),
        ),
      )([input, bn.gamma, bn.beta]);
    const together = gradsOf(grouped, 3, x, r);
    const yGrouped = batchNorm(x, grouped, true, 3);
    // Reference: each sub-batch on its own, in order (what MoCo did with one pass per sub-batch).
    const parts = tf.split(x, [2, 3, 3]) as Tensor4D[];
    const rs = tf.split(r, [2, 3, 3]);
    const apart = parts.map((part, i) => gradsOf(single, 1, part, rs[i]!));
    const ySingle = tf.concat(parts.map((part) => batchNorm(part, single, true)));
    const close = (a: Tensor, b: Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    expect(close(yGrouped, ySingle)).toBeLessThan(1e-5);
    expect(close(together[0]!, tf.concat(apart.map((g) => g[0]!)))).toBeLessThan(1e-5);
    expect(close(together[1]!, tf.addN(apart.map((g) => g[1]!)))).toBeLessThan(1e-4);
    expect(close(together[2]!, tf.addN(apart.map((g) => g[2]!)))).toBeLessThan(1e-4);
    // Both ran two forward passes (with and without gradients): the same chain of six updates.
    expect(close(grouped.movingMean, single.movingMean)).toBeLessThan(1e-6);
    expect(close(grouped.movingVariance, single.movingVariance)).toBeLessThan(1e-5);
    // ...which differs from one update with the whole batch (the groups matter).
    const whole = params.batchNorm('whole', 's', 3);
    batchNorm(x, whole, true).dispose();
    batchNorm(x, whole, true).dispose();
    expect(close(whole.movingVariance, single.movingVariance)).toBeGreaterThan(1e-2);
  });

  it('batch norm in groups leaks no tensors, forward or backward', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 2);
    const x = tf.randomNormal([6, 3, 3, 2]) as Tensor4D;
    const run = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(batchNorm(x, bn, true, 3))),
        [bn.gamma, bn.beta],
      );
      tf.dispose([value, ...Object.values(grads)]);
    };
    run(); // warm-up
    const before = tf.memory().numTensors;
    run();
    batchNorm(x, bn, true, 2).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('batch norm groups must be a whole number from 1 to the batch size', () => {
    params = new ParameterSet(1, true);
    const bn = params.batchNorm('bn', 's', 2);
    const x = tf.zeros([4, 2, 2, 2]) as Tensor4D;
    expect(() => batchNorm(x, bn, true, 5)).toThrow(/groups must be an integer from 1 to the batch size 4; got 5/);
    expect(() => batchNorm(x, bn, true, 1.5)).toThrow(/got 1.5/);
    expect(Array.from(bn.movingMean.dataSync())).toEqual([0, 0]);
  });

  it('pads symmetrically like PyTorch (TF "same" would pad only the bottom/right of an even input)', () => {
    params = new ParameterSet(1, true);
    const conv = params.conv('c', 's', { in: 1, out: 1, kernel: 3, stride: 2, pad: 1 });
    conv.weight.assign(tf.ones([3, 3, 1, 1]));
    const x = tf.buffer([1, 4, 4, 1]);
    x.set(1, 0, 2, 2, 0);
    // Windows of a 3x3/2 conv with padding 1 cover rows -1..1 and 1..3: only the last window
    // of each axis sees pixel 2.
    expect(Array.from(conv2d(x.toTensor() as Tensor4D, conv).dataSync())).toEqual([0, 0, 0, 1]);
  });

  it('the stem max pool (3x3/2, pad 1) after ReLU equals PyTorch -inf padding', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [1, 4, 4, 1]);
    // PyTorch: windows rows/cols {-1..1} and {1..3}: maxima 5, 7, 13, 15
    expect(Array.from(maxPoolAfterRelu(x, 3, 2, 1).dataSync())).toEqual([5, 7, 13, 15]);
  });

  it('names parameters uniquely and separates statistics from trainable parameters', () => {
    params = new ParameterSet(1, true);
    params.batchNorm('bn1', 'conv1', 4);
    expect([...params.params.keys()]).toEqual(['bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
    expect([...params.params.values()].map((p) => p.trainable)).toEqual([true, true, false, false]);
    expect(() => params.batchNorm('bn1', 'conv1', 4)).toThrow(/duplicate parameter name bn1.weight/);
  });
});
