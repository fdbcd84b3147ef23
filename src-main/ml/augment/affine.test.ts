import type { Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyAffine,
  chainAffine,
  flipPermutation,
  isInside,
  rotation,
  translation,
  type Point,
} from '../../../src-shared/geometry.js';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import { DEFAULT_AFFINE_AUGMENT, randomAffine, sampleAffineAugment, warpAffine } from './affine.js';
import { dotCentroid, dotImage } from './testImages.js';

beforeAll(async () => {
  await initEngine();
});

const W = 48;
const H = 40;

describe('warpAffine', () => {
  it('moves a dot to where the matrix sends its centre (rotation about a non-centre point)', () => {
    const p: Point = [20.3, 14.6];
    const image = dotImage(W, H, p);
    const m = rotation(0.4, 30, 22);
    const out = warpAffine(image, [m]);
    const q = applyAffine(m, p);
    const found = dotCentroid(out, 0, q);
    expect(Math.hypot(found[0] - q[0], found[1] - q[1])).toBeLessThan(0.1);
    tf.dispose([image, out]);
  });

  it('samples into a smaller output: the dot lands on its mapped point inside the crop', () => {
    const p: Point = [36.2, 29.7];
    const image = dotImage(W, H, p);
    // rotate about the image centre, then shift p to (10.4, 7.7) of a 20 x 16 crop at the origin
    const turn = rotation(-0.7, W / 2, H / 2);
    const turned = applyAffine(turn, p);
    const m = chainAffine(turn, translation(10.4 - turned[0], 7.7 - turned[1]));
    const q = applyAffine(m, p);
    expect(q[0]).toBeCloseTo(10.4, 9);
    const out = warpAffine(image, [m], 20, 16);
    expect(out.shape).toEqual([1, 16, 20, 3]);
    const found = dotCentroid(out, 0, q);
    expect(Math.hypot(found[0] - q[0], found[1] - q[1])).toBeLessThan(0.1);
    tf.dispose([image, out]);
  });
});

describe('randomAffine', () => {
  it('keeps dots on their points through random shifts, turns, zooms and flips, swapping partners', () => {
    // keypoint 0 = "left", 1 = "right" (partners), 2 = unpaired; the dot marks keypoint 0 only
    const perm = flipPermutation(3, [[0, 1]]);
    const rng = createRng(11);
    const rows = 12;
    const pts: Point[] = [];
    const images = tf.concat(
      Array.from({ length: rows }, () => {
        const p: Point = [rng.uniform(18, 30), rng.uniform(15, 25)];
        pts.push(p);
        return dotImage(W, H, p);
      }),
    );
    const points = pts.map((p) => [p, [W - p[0], p[1]] as Point, null]);
    const config = { ...DEFAULT_AFFINE_AUGMENT, translate: 0.05, scale: [0.8, 1.2] as const };
    const out = randomAffine(images, points, rng, config, perm);
    expect(out.images.shape).toEqual([rows, H, W, 3]);
    let flips = 0;
    out.permutations.forEach((permutation, b) => {
      const flipped = permutation[0] === 1;
      if (flipped) flips++;
      // the dot (keypoint 0 before) is now labeled 1 when flipped
      const dot = out.points[b]![flipped ? 1 : 0]!;
      expect(isInside(dot, W, H)).toBe(true);
      const found = dotCentroid(out.images, b, dot);
      expect(Math.hypot(found[0] - dot[0], found[1] - dot[1]), `row ${b}`).toBeLessThan(0.25);
      expect(out.points[b]![2]).toBeNull();
      expect(applyAffine(out.matrices[b]!, pts[b]!)).toEqual(dot);
    });
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(rows);
    tf.dispose([images, out.images]);
  });

  it('samples reproducibly from its seed and within the configured ranges', () => {
    const a = sampleAffineAugment(createRng(3), W, H, DEFAULT_AFFINE_AUGMENT);
    const b = sampleAffineAugment(createRng(3), W, H, DEFAULT_AFFINE_AUGMENT);
    expect(a).toEqual(b);
    const rng = createRng(4);
    for (let i = 0; i < 200; i++) {
      const { matrix, flipped } = sampleAffineAugment(rng, W, H, DEFAULT_AFFINE_AUGMENT);
      const scale = Math.sqrt(Math.abs(matrix[0] * matrix[4] - matrix[1] * matrix[3]));
      expect(scale).toBeGreaterThanOrEqual(0.75 - 1e-9);
      expect(scale).toBeLessThanOrEqual(1.25 + 1e-9);
      // the image centre moves by at most the translation range
      const c = applyAffine(matrix, [W / 2, H / 2]);
      expect(Math.abs(c[0] - W / 2)).toBeLessThanOrEqual(0.1 * W + 1e-9);
      expect(Math.abs(c[1] - H / 2)).toBeLessThanOrEqual(0.1 * H + 1e-9);
      expect(matrix[0] * matrix[4] - matrix[1] * matrix[3] < 0).toBe(flipped);
    }
  });

  it('refuses flips without a flip permutation, and mismatched inputs', () => {
    const images = tf.zeros([2, 8, 8, 3]) as Tensor4D;
    expect(() => randomAffine(images, [[], []], createRng(1), DEFAULT_AFFINE_AUGMENT, null)).toThrow(
      /flip permutation/,
    );
    expect(() => randomAffine(images, [[]], createRng(1), { ...DEFAULT_AFFINE_AUGMENT, flipProb: 0 }, null)).toThrow(
      /1 point lists for a batch of 2/,
    );
    expect(() => warpAffine(images, [])).toThrow(/0 matrices/);
    images.dispose();
  });

  it('leaks no tensors', () => {
    const images = tf.zeros([3, 16, 16, 3]) as Tensor4D;
    const before = tf.memory().numTensors;
    const out = randomAffine(images, [[], [], []], createRng(2), DEFAULT_AFFINE_AUGMENT, []);
    out.images.dispose();
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });
});
