import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import {
  applyPhotometric,
  DEFAULT_PHOTOMETRIC,
  hueRotationMatrix,
  photometricJitter,
  type PhotometricParams,
} from './photometric.js';

beforeAll(async () => {
  await initEngine();
});

const none: PhotometricParams = { brightness: 1, contrast: 1, saturation: 1, hue: 0, blurSigma: 0 };

/** Random colours kept away from 0 and 1 so clipping never hides what an operation did. */
function midImage(seed: number, b = 2, h = 12, w = 10): Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(
    Array.from({ length: b * h * w * 3 }, () => rng.uniform(0.3, 0.7)),
    [b, h, w, 3],
  );
}

const maxDiff = (a: Tensor, b: Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const luma = (x: Tensor): Tensor => tf.tidy(() => tf.sum(tf.mul(x, [0.299, 0.587, 0.114]), 3));

describe('applyPhotometric', () => {
  it('leaves images alone with neutral parameters', () => {
    const x = midImage(1);
    const y = applyPhotometric(x, [none, none]);
    expect(maxDiff(x, y)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });

  it('scales brightness, flattens contrast to the mean luma, and desaturates to gray', () => {
    const x = midImage(2);
    const bright = applyPhotometric(x, [{ ...none, brightness: 0.5 }, none]);
    const expectedRow0 = tf.mul(x.slice([0], [1]), 0.5);
    expect(maxDiff(bright.slice([0], [1]), expectedRow0)).toBeLessThan(1e-5);
    expect(maxDiff(bright.slice([1], [1]), x.slice([1], [1]))).toBeLessThan(1e-5);

    const flat = applyPhotometric(x, [{ ...none, contrast: 0 }, none]);
    const meanLuma = tf.mean(luma(x.slice([0], [1]))).dataSync()[0]!;
    const row = flat.slice([0], [1]).dataSync();
    for (const v of row) expect(v).toBeCloseTo(meanLuma, 5);

    const gray = applyPhotometric(x, [
      { ...none, saturation: 0 },
      { ...none, saturation: 0 },
    ]);
    const [r, g, b] = tf.split(gray, 3, 3);
    expect(maxDiff(r!, g!)).toBeLessThan(1e-5);
    expect(maxDiff(g!, b!)).toBeLessThan(1e-5);
    expect(maxDiff(luma(gray), luma(x))).toBeLessThan(1e-5);
    tf.dispose([x, bright, expectedRow0, flat, gray, r!, g!, b!]);
  });

  it('turns hue without changing luma; a full turn is the identity', () => {
    expect(
      hueRotationMatrix(1)
        .flat()
        .map((v) => Math.round(v * 1e9) / 1e9 + 0),
    ).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const x = tf.tensor4d([0.6, 0.4, 0.45, 0.45, 0.55, 0.5], [1, 1, 2, 3]);
    const y = applyPhotometric(x, [{ ...none, hue: 0.25 }]);
    expect(maxDiff(luma(x), luma(y))).toBeLessThan(1e-5);
    expect(maxDiff(x, y)).toBeGreaterThan(0.03);
    // a half turn swaps reddish and cyan-ish: red falls, green/blue rise for the first pixel
    const half = applyPhotometric(x, [{ ...none, hue: 0.5 }]).dataSync();
    expect(half[0]).toBeLessThan(0.6);
    expect(half[1]).toBeGreaterThan(0.4);
    tf.dispose([x, y]);
  });

  it('blurs: a flat image stays flat (no dark rim) and a dot spreads, keeping its mass', () => {
    const flat = tf.fill([1, 9, 11, 3], 0.5) as Tensor4D;
    const flatOut = applyPhotometric(flat, [{ ...none, blurSigma: 2 }]);
    expect(maxDiff(flat, flatOut)).toBeLessThan(1e-5);
    const dot = tf.tensor4d(
      Array.from({ length: 15 * 15 * 3 }, (_, i) => (Math.floor(i / 3) === 7 * 15 + 7 ? 0.9 : 0)),
      [1, 15, 15, 3],
    );
    const spread = applyPhotometric(dot, [{ ...none, blurSigma: 1.5 }]);
    expect(tf.max(spread).dataSync()[0]).toBeLessThan(0.3);
    expect(tf.sum(spread).dataSync()[0]).toBeCloseTo(tf.sum(dot).dataSync()[0]!, 3);
    tf.dispose([flat, flatOut, dot, spread]);
  });

  it('rejects a parameter list that does not match the batch', () => {
    const x = midImage(3);
    expect(() => applyPhotometric(x, [none])).toThrow(/1 parameter sets for a batch of 2/);
    x.dispose();
  });
});

describe('photometricJitter', () => {
  it('is reproducible, stays in [0, 1], changes images, and leaks no tensors', () => {
    const x = midImage(4, 6, 16, 16);
    photometricJitter(x, createRng(1)).dispose(); // warm-up
    const before = tf.memory().numTensors;
    const a = photometricJitter(x, createRng(9), DEFAULT_PHOTOMETRIC);
    const b = photometricJitter(x, createRng(9), DEFAULT_PHOTOMETRIC);
    expect(maxDiff(a, b)).toBe(0);
    const [lo, hi] = tf.tidy(() => [tf.min(a).dataSync()[0]!, tf.max(a).dataSync()[0]!]);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(maxDiff(a, x)).toBeGreaterThan(0.01);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
