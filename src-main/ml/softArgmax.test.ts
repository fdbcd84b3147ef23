import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from './engine.js';
import { softArgmax, spatialSoftmax } from './softArgmax.js';

/** [1, h, w, k] logits: `peak` at the given (row, col) of each channel, 0 elsewhere. */
function peaked(h: number, w: number, peaks: [number, number][], peak: number): Tensor4D {
  const data = new Float32Array(h * w * peaks.length);
  peaks.forEach(([r, c], k) => (data[(r * w + c) * peaks.length + k] = peak));
  return tf.tensor4d(data, [1, h, w, peaks.length]);
}

describe('softArgmax', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('puts a sharp peak at its pixel centre, x from the column and y from the row', () => {
    const coords = softArgmax(
      peaked(
        6,
        9,
        [
          [1, 7],
          [4, 0],
        ],
        60,
      ),
    ).arraySync();
    expect(coords[0]![0]![0]).toBeCloseTo(7.5, 4);
    expect(coords[0]![0]![1]).toBeCloseTo(1.5, 4);
    expect(coords[0]![1]![0]).toBeCloseTo(0.5, 4);
    expect(coords[0]![1]![1]).toBeCloseTo(4.5, 4);
  });

  it('gives the map centre (W/2, H/2) for a flat heatmap', () => {
    const coords = softArgmax(tf.zeros([2, 4, 10, 3]) as Tensor4D).arraySync();
    for (const batch of coords)
      for (const [x, y] of batch) {
        expect(x).toBeCloseTo(5, 5);
        expect(y).toBeCloseTo(2, 5);
      }
  });

  it('is the probability-weighted mean location (two equal peaks -> midpoint)', () => {
    const data = new Float32Array(5 * 5);
    data[1 * 5 + 1] = 50;
    data[3 * 5 + 4] = 50;
    const [x, y] = softArgmax(tf.tensor4d(data, [1, 5, 5, 1])).arraySync()[0]![0]!;
    expect(x).toBeCloseTo((1.5 + 4.5) / 2, 4);
    expect(y).toBeCloseTo((1.5 + 3.5) / 2, 4);
  });

  it('a lower temperature pulls a weak peak towards its pixel', () => {
    const h = peaked(7, 7, [[0, 0]], 2);
    const warm = softArgmax(h, 1).arraySync()[0]![0]![0]!;
    const cold = softArgmax(h, 0.05).arraySync()[0]![0]![0]!;
    expect(Math.abs(cold - 0.5)).toBeLessThan(Math.abs(warm - 0.5));
    expect(cold).toBeCloseTo(0.5, 3);
  });

  it('spatial softmax sums to one per channel', () => {
    const p = spatialSoftmax(tf.randomNormal([2, 3, 4, 5]) as Tensor4D);
    const sums = tf.sum(p, [1, 2]).dataSync();
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
  });

  it('rejects a non-positive temperature and a wrong rank with clear errors', () => {
    expect(() => softArgmax(tf.zeros([1, 2, 2, 1]) as Tensor4D, 0)).toThrow(/temperature must be > 0/);
    expect(() => softArgmax(tf.zeros([2, 2, 1]) as unknown as Tensor4D)).toThrow(/\[B, H, W, K\]/);
  });

  it('leaks no tensors', () => {
    const h = tf.randomNormal([2, 8, 8, 4]) as Tensor4D;
    softArgmax(h).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) softArgmax(h, 0.5).dispose();
    expect(tf.memory().numTensors).toBe(before);
    h.dispose();
  });
});
