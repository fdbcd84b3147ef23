import type { Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../../../src-shared/geometry.js';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import { warpAffine } from './affine.js';
import {
  DEFAULT_TPS,
  PAPER004_FACES_G2,
  randomTps,
  sampleTps,
  tpsInverse,
  tpsMap,
  tpsPoints,
  tpsSamplingGrid,
  warpTps,
  type TpsConfig,
} from './tps.js';
import { dotCentroid, dotImage } from './testImages.js';

beforeAll(async () => {
  await initEngine();
});

const strong: TpsConfig = { ...DEFAULT_TPS, sdSubset: 0.008, rotationSdDeg: 15, translationSd: 0.05 };

describe('TPS warps', () => {
  it('inverts its sampling map to 1e-8', () => {
    const rng = createRng(5);
    for (let i = 0; i < 20; i++) {
      const warp = sampleTps(rng, strong);
      const u: Point = [rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8)];
      const [x, y] = tpsMap(warp, u[0], u[1]);
      const back = tpsInverse(warp, x, y);
      expect(back).not.toBeNull();
      expect(Math.hypot(back![0] - u[0], back![1] - u[1])).toBeLessThan(1e-8);
    }
  });

  it('samples every pixel where tpsMap sends its centre (the grid is one matrix product)', () => {
    const rng = createRng(12);
    const [w, h] = [40, 30];
    const warps = Array.from({ length: 3 }, () => sampleTps(rng, strong));
    const grid = tpsSamplingGrid(warps, w, h);
    expect(grid.length).toBe(3 * h * w * 2);
    let worst = 0;
    warps.forEach((warp, b) => {
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const [gx, gy] = tpsMap(warp, (2 * (j + 0.5)) / w - 1, (2 * (i + 0.5)) / h - 1);
          const o = ((b * h + i) * w + j) * 2;
          worst = Math.max(worst, Math.abs(grid[o]! - (((gx + 1) * w) / 2 - 0.5)));
          worst = Math.max(worst, Math.abs(grid[o + 1]! - (((gy + 1) * h) / 2 - 0.5)));
        }
    });
    expect(worst).toBeLessThan(1e-3); // pixels; float32 sums
    expect(() => tpsSamplingGrid([warps[0]!, sampleTps(rng, { ...strong, gridSize: 5 })], w, h)).toThrow(
      /same control grid/,
    );
  });

  it('with zero TPS weights equals the affine warp of its similarity part', () => {
    const warp = sampleTps(createRng(8), { ...DEFAULT_TPS, sdAll: 0, sdSubset: 0, rotationSdDeg: 20 });
    const [w, h] = [30, 20];
    const rng = createRng(9);
    const image = tf.tensor4d(
      Array.from({ length: h * w * 3 }, () => rng.next()),
      [1, h, w, 3],
    );
    // g maps warped -> source in normalised coordinates (x_n = 2 x / w - 1); the affine map goes
    // source -> warped in pixels, so invert g's similarity and conjugate by the normalisation.
    const [a, b, c, d] = warp.affine;
    const [tx, ty] = warp.translation;
    const det = a * d - b * c;
    const inv = [d / det, -b / det, -c / det, a / det];
    const ux = -(inv[0]! * tx + inv[1]! * ty);
    const uy = -(inv[2]! * tx + inv[3]! * ty);
    const m = [
      inv[0]!,
      (inv[1]! * w) / h,
      (w / 2) * (1 + ux - inv[0]! - inv[1]!),
      (inv[2]! * h) / w,
      inv[3]!,
      (h / 2) * (1 + uy - inv[2]! - inv[3]!),
    ] as const;
    const viaTps = warpTps(image, [warp]);
    const viaAffine = warpAffine(image, [m]);
    expect(tf.max(tf.abs(tf.sub(viaTps, viaAffine))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([image, viaTps, viaAffine]);
  });

  it('keeps dots on their points (within 1 px) through random warps', () => {
    const [w, h] = [64, 48];
    const rng = createRng(21);
    const rows = 8;
    const pts: Point[] = Array.from({ length: rows }, () => [rng.uniform(20, 44), rng.uniform(16, 32)]);
    const images = tf.concat(pts.map((p) => dotImage(w, h, p)));
    for (const config of [DEFAULT_TPS, strong, PAPER004_FACES_G2]) {
      const out = randomTps(
        images,
        pts.map((p) => [p, null]),
        rng,
        config,
      );
      let moved = 0;
      let found = 0;
      out.points.forEach((row, b) => {
        expect(row[1]).toBeNull();
        const q = row[0];
        if (!q) return; // a fold (paper 004 strong warps only)
        const c = dotCentroid(out.images, b, q, 4);
        expect(Math.hypot(c[0] - q[0], c[1] - q[1]), `row ${b}`).toBeLessThan(0.5);
        moved += Math.hypot(q[0] - pts[b]![0], q[1] - pts[b]![1]);
        found++;
      });
      expect(found).toBeGreaterThanOrEqual(config === PAPER004_FACES_G2 ? rows - 2 : rows);
      // the warps really deform: points move by more than a pixel on average
      expect(moved / found).toBeGreaterThan(1);
      out.images.dispose();
    }
    images.dispose();
  });

  it('never folds with the default (DVE) settings', () => {
    const rng = createRng(6);
    let failures = 0;
    for (let i = 0; i < 100; i++) {
      const warp = sampleTps(rng, DEFAULT_TPS);
      for (let k = 0; k < 20; k++)
        if (tpsInverse(warp, rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7)) === null) failures++;
    }
    expect(failures).toBe(0);
  });

  it('maps points through tpsPoints consistently with tpsMap', () => {
    const warp = sampleTps(createRng(4), strong);
    const q = tpsPoints(warp, [[30, 12]], 60, 40)[0] as Point;
    const [x, y] = tpsMap(warp, (2 * q[0]) / 60 - 1, (2 * q[1]) / 40 - 1);
    expect(((x + 1) * 60) / 2).toBeCloseTo(30, 6);
    expect(((y + 1) * 40) / 2).toBeCloseTo(12, 6);
  });

  it('is reproducible from the seed and leaks no tensors', () => {
    expect(sampleTps(createRng(1), DEFAULT_TPS)).toEqual(sampleTps(createRng(1), DEFAULT_TPS));
    const images = tf.zeros([2, 16, 16, 3]) as Tensor4D;
    const before = tf.memory().numTensors;
    randomTps(images, [[], []], createRng(3), DEFAULT_TPS).images.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => randomTps(images, [[]], createRng(3), DEFAULT_TPS)).toThrow(/1 point lists for a batch of 2/);
    images.dispose();
  });
});
