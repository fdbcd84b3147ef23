import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from './engine.js';
import { createBackbone } from './backbones/index.js';
import type { Backbone } from './backbones/index.js';
import {
  bilinearMatrix,
  extractHypercolumn,
  hypercolumn,
  hypercolumnChannels,
  hypercolumnConfigFor,
  PAPER_HYPERCOLUMN,
  resizeBilinear,
} from './hypercolumn.js';

describe('hypercolumn', () => {
  let net: Backbone;
  beforeAll(async () => {
    await initEngine();
    net = createBackbone({ arch: 'resnet18' }, { seed: 3 });
  });
  afterAll(() => net.dispose());

  it('stacks conv2_x..conv5_x of ResNet-18 on a 48x48 grid for 96x96 input (paper 000)', () => {
    const images = tf.randomNormal([2, 96, 96, 3]) as Tensor4D;
    const hc = extractHypercolumn(net, images, PAPER_HYPERCOLUMN);
    expect(hc.shape).toEqual([2, 48, 48, 64 + 128 + 256 + 512]);
    expect(hypercolumnChannels(net.stages, PAPER_HYPERCOLUMN)).toBe(960);
    tf.dispose([images, hc]);
  });

  it('keeps a stage that is already at grid resolution unchanged, in config order', () => {
    const images = tf.randomNormal([1, 96, 96, 3]) as Tensor4D;
    const taps = net.apply(images, { training: false, stages: ['conv1', 'conv2_x'] });
    const hc = hypercolumn(taps, { stages: ['conv1', 'conv2_x'], gridSize: [48, 48] });
    expect(hc.shape).toEqual([1, 48, 48, 64 + 64]);
    const first = hc.slice([0, 0, 0, 0], [1, 48, 48, 64]);
    expect(tf.max(tf.abs(tf.sub(first, taps.conv1!))).dataSync()[0]).toBe(0);
    // conv2_x (24x24) follows, upsampled to the grid.
    const second = hc.slice([0, 0, 0, 64], [1, 48, 48, 64]);
    const upsampled = resizeBilinear(taps.conv2_x!, [48, 48]);
    expect(tf.max(tf.abs(tf.sub(second, upsampled))).dataSync()[0]).toBe(0);
    tf.dispose([images, hc, first, second, upsampled, ...Object.values(taps)]);
  });

  it('resizeBilinear keeps a constant map constant and interpolates a ramp exactly inside', () => {
    const c = resizeBilinear(tf.fill([1, 3, 3, 2], 1.5) as Tensor4D, [48, 48]);
    expect(tf.max(tf.abs(tf.sub(c, 1.5))).dataSync()[0]).toBeLessThan(1e-6);
    // Column j of a 4-wide ramp is j; in the 8-wide output pixel o sits at o/2 - 0.25.
    const ramp = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
    const row = resizeBilinear(ramp, [1, 8]).dataSync();
    expect(Array.from(row.slice(1, 7))).toEqual([0.25, 0.75, 1.25, 1.75, 2.25, 2.75]);
    tf.dispose([c, ramp]);
  });

  it('resizeBilinear matches the explicit interpolation matrices (half-pixel centres)', () => {
    const x = tf.randomNormal([2, 5, 3, 4]) as Tensor4D;
    const y = resizeBilinear(x, [12, 7]);
    const ah = tf.tensor2d(bilinearMatrix(12, 5), [12, 5]);
    const aw = tf.tensor2d(bilinearMatrix(7, 3), [7, 3]);
    // y[b,i,j,c] = sum_p,q ah[i,p] aw[j,q] x[b,p,q,c]
    const expected = tf.einsum('jq,biqc->bijc', aw, tf.einsum('ip,bpqc->biqc', ah, x));
    expect(tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, y, ah, aw, expected]);
  });

  it('resizeBilinear gradient is the adjoint of the resize: <dy, R x> = <R^T dy, x>', () => {
    for (const [from, to] of [
      [
        [6, 5],
        [13, 11],
      ],
      [
        [9, 12],
        [4, 5],
      ],
    ] as const) {
      const x = tf.randomNormal([2, ...from, 3]) as Tensor4D;
      const dy = tf.randomNormal([2, ...to, 3]) as Tensor4D;
      const g = tf.grad((v) => tf.sum(tf.mul(resizeBilinear(v as Tensor4D, to), dy)))(x);
      const lhs = tf.sum(tf.mul(dy, resizeBilinear(x, to))).dataSync()[0]!;
      const rhs = tf.sum(tf.mul(g, x)).dataSync()[0]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
      tf.dispose([x, dy, g]);
    }
  });

  it('derives the grid from the input size and rejects unknown stages clearly', () => {
    expect(hypercolumnConfigFor([128, 160]).gridSize).toEqual([64, 80]);
    expect(() => hypercolumnChannels(net.stages, { stages: ['conv9_x'], gridSize: [4, 4] })).toThrow(
      /conv9_x.*not a backbone stage/,
    );
    const images = tf.zeros([1, 32, 32, 3]) as Tensor4D;
    expect(() => extractHypercolumn(net, images, { stages: ['pool5'], gridSize: [8, 8] })).toThrow(/no stage "pool5"/);
    images.dispose();
  });

  it('leaks no tensors across repeated extractions', () => {
    const images = tf.randomNormal([2, 64, 64, 3]) as Tensor4D;
    extractHypercolumn(net, images, PAPER_HYPERCOLUMN).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) extractHypercolumn(net, images, PAPER_HYPERCOLUMN).dispose();
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });
});
