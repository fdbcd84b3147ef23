import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import { denormalizeImageNet, IMAGENET_MEAN, IMAGENET_STD, normalizeImageNet, pixelsToTensor } from './normalize.js';

beforeAll(async () => {
  await initEngine();
});

describe('normalize', () => {
  it('stacks 8-bit pixels into [0, 1] floats and applies the ImageNet statistics per channel', () => {
    const a = Uint8Array.from([0, 128, 255, 10, 20, 30]);
    const b = Uint8Array.from([255, 255, 255, 0, 0, 0]);
    const before = tf.memory().numTensors;
    const x = pixelsToTensor([a, b], 1, 2);
    expect(x.shape).toEqual([2, 1, 2, 3]);
    const values = Array.from(x.dataSync());
    expect(values.slice(0, 3).map((v) => Math.round(v * 255))).toEqual([0, 128, 255]);
    const n = normalizeImageNet(x);
    const nv = n.dataSync();
    for (let c = 0; c < 3; c++) expect(nv[c]).toBeCloseTo(((values[c] ?? 0) - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!, 5);
    expect(nv[6]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    const back = denormalizeImageNet(n);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]!)).toBeLessThan(1e-5);
    tf.dispose([x, n, back]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects images of the wrong size', () => {
    expect(() => pixelsToTensor([new Uint8Array(5)], 1, 2)).toThrow(/Image 0 has 5 bytes, expected 1x2x3 = 6/);
  });
});
