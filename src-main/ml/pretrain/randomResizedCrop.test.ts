import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import { cropAndResizeBoxes, sampleCropBox } from './randomResizedCrop.js';

beforeAll(async () => {
  await initEngine();
});

describe('random resized crop', () => {
  it('samples boxes inside the image with the requested area share and aspect ratio', () => {
    const rng = createRng(3);
    for (const [lo, hi] of [
      [0.2, 1],
      [0.05, 0.3],
    ] as const) {
      const shares: number[] = [];
      for (let i = 0; i < 500; i++) {
        const b = sampleCropBox(rng, 120, 80, [lo, hi], [3 / 4, 4 / 3]);
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.x + b.w).toBeLessThanOrEqual(120 + 1e-9);
        expect(b.y + b.h).toBeLessThanOrEqual(80 + 1e-9);
        const share = (b.w * b.h) / (120 * 80);
        expect(share).toBeGreaterThanOrEqual(lo - 1e-9);
        expect(share).toBeLessThanOrEqual(hi + 1e-9);
        shares.push(share);
        expect(b.w / b.h).toBeGreaterThanOrEqual(3 / 4 - 1e-9);
        expect(b.w / b.h).toBeLessThanOrEqual(4 / 3 + 1e-9);
      }
      // Uniform over a range whose boxes all fit (large ones that do not fit fall back to a centred box).
      if (hi <= 0.3)
        expect(Math.abs(shares.reduce((a, b) => a + b, 0) / shares.length - (lo + hi) / 2)).toBeLessThan(0.02);
    }
  });

  it('returns the image itself for the whole-image box at its own size', () => {
    const images = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 1) as Tensor4D;
    const box = { x: 0, y: 0, w: 12, h: 12 };
    const out = cropAndResizeBoxes(images, [box, box], 12);
    expect(tf.max(tf.abs(tf.sub(out, images))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([images, out]);
  });

  it('samples the pixels a crop covers: the right half of an image whose halves differ', () => {
    // 8x8 image: columns 0-3 black, 4-7 white; the box x in [4, 8) resized to 4x4 is all white.
    const data = Array.from({ length: 8 * 8 * 3 }, (_, i) => (Math.floor(i / 3) % 8 >= 4 ? 1 : 0));
    const image = tf.tensor4d(data, [1, 8, 8, 3]);
    const out = cropAndResizeBoxes(image, [{ x: 4, y: 0, w: 4, h: 8 }], 4);
    expect(tf.min(out).dataSync()[0]).toBeCloseTo(1, 5);
    tf.dispose([image, out]);
  });
});
