import type { Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import { bilinearSample } from './bilinearSample.js';

beforeAll(async () => {
  await initEngine();
});

describe('bilinearSample', () => {
  it('matches tf.image.resizeBilinear (half-pixel centres) on a scaling grid', () => {
    const rng = createRng(1);
    const [h, w, ho, wo] = [7, 9, 11, 5];
    const image = tf.tensor4d(
      Array.from({ length: 2 * h * w * 3 }, () => rng.next()),
      [2, h, w, 3],
    );
    const grid = new Float32Array(2 * ho * wo * 2);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          const o = ((b * ho + i) * wo + j) * 2;
          // clamp like resizeBilinear does at the borders (it never samples outside)
          grid[o] = Math.min(w - 1, Math.max(0, ((j + 0.5) * w) / wo - 0.5));
          grid[o + 1] = Math.min(h - 1, Math.max(0, ((i + 0.5) * h) / ho - 0.5));
        }
    const ours = bilinearSample(image, grid, ho, wo);
    const theirs = tf.image.resizeBilinear(image, [ho, wo], false, true);
    const diff = tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([image, ours, theirs]);
  });

  it('blends with black outside the image and hits pixel centres exactly', () => {
    const image = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const out = bilinearSample(image, Float32Array.from([0, 0, 1, 1, 0.5, 0, -0.5, 0, 5, 5]), 1, 5);
    expect(Array.from(out.dataSync())).toEqual([1, 4, 1.5, 0.5, 0]);
    tf.dispose([image, out]);
  });

  it('samples 8-bit pixels as value / 255, the same as their float tensor', () => {
    const rng = createRng(4);
    const [h, w, ho, wo] = [6, 8, 5, 7];
    const pixels = [0, 1].map(() => Uint8Array.from({ length: h * w * 3 }, () => Math.floor(rng.next() * 256)));
    const floats = tf.tensor4d(
      pixels.flatMap((p) => Array.from(p, (v) => v / 255)),
      [2, h, w, 3],
    );
    // inside, across the border and outside, for both images
    const grid = Float32Array.from({ length: 2 * ho * wo * 2 }, (_, i) => (i % 2 ? h : w) * (1.4 * rng.next() - 0.2));
    const fromPixels = bilinearSample({ pixels, height: h, width: w }, grid, ho, wo);
    const fromFloats = bilinearSample(floats, grid, ho, wo);
    expect(fromPixels.shape).toEqual([2, ho, wo, 3]);
    expect(tf.max(tf.abs(tf.sub(fromPixels, fromFloats))).dataSync()[0]!).toBeLessThan(1e-6);
    expect(tf.max(fromPixels).dataSync()[0]!).toBeGreaterThan(0.5);
    tf.dispose([floats, fromPixels, fromFloats]);
  });

  it('rejects pixel arrays of the wrong size', () => {
    const pixels = [new Uint8Array(4 * 4 * 3), new Uint8Array(4 * 4 * 3 - 1)];
    expect(() => bilinearSample({ pixels, height: 4, width: 4 }, new Float32Array(2 * 2 * 2 * 2), 2, 2)).toThrow(
      /Image 1 has 47 bytes, expected 4x4x3 = 48/,
    );
  });

  it('rejects grids that do not fit', () => {
    const image = tf.zeros([2, 4, 4, 3]) as Tensor4D;
    expect(() => bilinearSample(image, new Float32Array(10), 2, 2)).toThrow(/expected 2x2x2x2/);
    image.dispose();
  });
});
