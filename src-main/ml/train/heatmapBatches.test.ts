import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAffineToPoints, permute, type MaybePoint } from '../../../src-shared/geometry.js';
import { createRng } from '../../../src-shared/random.js';
import { warpAffine } from '../augment/affine.js';
import { applyPhotometric, samplePhotometric } from '../augment/photometric.js';
import { initEngine, tf } from '../engine.js';
import { normalizeImageNet } from '../image/normalize.js';
import { batchSchedule } from './batches.js';
import { HEATMAP_HEAD_DEFAULTS } from './config.js';
import {
  heatmapBatchMaker,
  HeatmapBatchWorker,
  photometricConfig,
  sampleAugmentation,
  type HeatmapBatchPlan,
} from './heatmapBatches.js';

const SIZE = 64;
const CROP = 48;
const K = 3;

/** Random mid-grey texture with a white 3x3 dot centred on keypoint 0 (pixel centre (x + 0.5, y + 0.5)). */
function example(seed: number, points: [number, number][]): HeatmapBatchPlan['examples'][number] {
  const rng = createRng(seed);
  const pixels = Uint8Array.from({ length: SIZE * SIZE * 3 }, () => 60 + Math.floor(rng.uniform(0, 60)));
  const [x, y] = points[0]!.map((v) => Math.floor(v));
  for (let i = y! - 1; i <= y! + 1; i++)
    for (let j = x! - 1; j <= x! + 1; j++) pixels.fill(255, (i * SIZE + j) * 3, (i * SIZE + j) * 3 + 3);
  return { pixels, points, mask: [true, true, false] };
}

const plan: HeatmapBatchPlan = {
  examples: [
    example(1, [
      [20.5, 30.5],
      [28, 33],
      [25, 40],
    ]),
    example(2, [
      [40.5, 22.5],
      [35, 27],
      [44, 30],
    ]),
    example(3, [
      [31.5, 35.5],
      [26, 28],
      [36, 28],
    ]),
  ],
  inputSize: SIZE,
  cropSize: CROP,
  keypointCount: K,
  flipPermutation: [0, 2, 1],
  config: { ...HEATMAP_HEAD_DEFAULTS, batchSize: 2, inputSize: SIZE, trainCropSize: CROP },
  seed: 9,
};

beforeAll(async () => {
  await initEngine();
});

describe('heatmap head batches', () => {
  let worker: HeatmapBatchWorker;
  afterAll(async () => {
    await worker?.close();
  });

  it('come from the worker exactly as heatmapBatchMaker makes them in-process, in step order', async () => {
    const make = heatmapBatchMaker(plan);
    worker = new HeatmapBatchWorker(plan);
    for (let step = 0; step < 4; step++) {
      const ours = await worker.next();
      const reference = make(step);
      expect(ours.count).toBe(2);
      expect(ours.images).toEqual(reference.images);
      expect(ours.targets).toEqual(reference.targets);
      expect(ours.mask).toEqual(reference.mask);
    }
  });

  it('are the examples warped, jittered and normalised as the tensor ops do it, with targets on the moved points', () => {
    const batch = heatmapBatchMaker(plan)(0);
    // The same draws, in the same order, through the tensor path.
    const rng = createRng(plan.seed);
    const chosen = batchSchedule(plan.examples.length, 2, rng)(0).map((i) => plan.examples[i]!);
    const augmentations = chosen.map((e) => sampleAugmentation(rng, e.points, SIZE, CROP, plan.config));
    const reference = tf.tidy(() =>
      normalizeImageNet(
        applyPhotometric(
          warpAffine(
            { pixels: chosen.map((e) => e.pixels), height: SIZE, width: SIZE },
            augmentations.map((a) => a.matrix),
            CROP,
            CROP,
          ),
          chosen.map(() => samplePhotometric(rng, photometricConfig(plan.config), CROP)),
        ),
      ),
    );
    const ours = tf.tensor4d(batch.images, [2, CROP, CROP, 3]);
    expect(tf.max(tf.abs(tf.sub(ours, reference))).dataSync()[0]).toBeLessThan(1e-5);

    // Keypoint 0 (the dot) is where the image shows it and where its target peaks.
    const cells = CROP / plan.config.outputStride;
    const brightness = tf.sum(ours, 3).arraySync() as number[][][];
    chosen.forEach((e, b) => {
      const moved = applyAffineToPoints(augmentations[b]!.matrix, e.points);
      const point = (augmentations[b]!.flipped ? permute(moved, plan.flipPermutation) : moved)[0] as [number, number];
      let best = [-Infinity, 0, 0];
      brightness[b]!.forEach((row, i) => row.forEach((v, j) => v > best[0]! && (best = [v, j + 0.5, i + 0.5])));
      expect(Math.hypot(best[1]! - point[0], best[2]! - point[1])).toBeLessThan(1.5);
      const target = batch.targets.subarray(b * K * cells * cells, (b * K + 1) * cells * cells);
      const peak = target.indexOf(Math.max(...target));
      const cell: MaybePoint = [((peak % cells) + 0.5) * 4, (Math.floor(peak / cells) + 0.5) * 4];
      expect(Math.hypot(cell[0] - point[0], cell[1] - point[1])).toBeLessThanOrEqual(Math.SQRT2 * 2);
      expect(target.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
      expect(batch.mask[b * K]).toBe(1);
    });
    tf.dispose([ours, reference]);
  });

  it("reject next() with the worker's error when a batch cannot be made, and after close()", async () => {
    const broken = new HeatmapBatchWorker({
      ...plan,
      examples: plan.examples.map((e, i) => (i === 0 ? { ...e, pixels: e.pixels.subarray(10) } : e)),
      config: { ...plan.config, batchSize: 3 },
    });
    await expect(broken.next()).rejects.toThrow(
      /heatmap batch worker failed: batch 0: Image \d has 12278 bytes, expected 64x64x3 = 12288/,
    );
    await expect(broken.next()).rejects.toThrow(/heatmap batch worker failed/);
    await broken.close();
    const closed = new HeatmapBatchWorker(plan);
    await closed.close();
    await expect(closed.next()).rejects.toThrow(/closed/);
  });
});

describe('augmentation with a bounded shift (ranges chosen from the labels)', () => {
  const augmentation = (
    translate: [number, number] | 'anywhere',
    rotationDegrees = 0,
    scale: [number, number] = [1, 1],
  ) => ({
    ...HEATMAP_HEAD_DEFAULTS,
    augmentation: { ...HEATMAP_HEAD_DEFAULTS.augmentation, rotationDegrees, scale, translate, flipProbability: 0 },
  });
  const centre = (ps: MaybePoint[]): [number, number] => {
    const xs = ps.map((p) => p![0]);
    const ys = ps.map((p) => p![1]);
    return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  };
  const square: MaybePoint[] = [[100, 60], [120, 60], [100, 80], [120, 80], null];

  it('turns and scales about the object, and shifts it at most the range along each axis', () => {
    const rng = createRng(11);
    const shifts = Array.from({ length: 400 }, () => {
      const { matrix } = sampleAugmentation(rng, square, 256, 256, augmentation([0.1, 0.02], 90, [0.8, 1.25]));
      const moved = applyAffineToPoints(matrix, square);
      expect(moved[4]).toBeNull();
      const [x, y] = centre(moved.slice(0, 4));
      return [x - 110, y - 70];
    });
    const dx = shifts.map((s) => s[0]!);
    const dy = shifts.map((s) => s[1]!);
    expect(Math.max(...dx.map(Math.abs))).toBeLessThanOrEqual(25.6 + 1e-9);
    expect(Math.max(...dy.map(Math.abs))).toBeLessThanOrEqual(5.12 + 1e-9);
    // both ways, most of the range
    expect(Math.min(...dx)).toBeLessThan(-20);
    expect(Math.max(...dx)).toBeGreaterThan(20);
    expect(Math.min(...dy)).toBeLessThan(-4);
  });

  it('keeps the frame edge where it is: a crop window inside the letterbox, holding the object', () => {
    const corner: MaybePoint[] = [
      [10, 12],
      [30, 28],
    ];
    const bounded = createRng(12);
    const anywhere = createRng(12);
    const xs = { bounded: [] as number[], anywhere: [] as number[] };
    for (let i = 0; i < 300; i++) {
      const a = applyAffineToPoints(sampleAugmentation(bounded, corner, 256, 128, augmentation([0, 0])).matrix, corner);
      const b = applyAffineToPoints(
        sampleAugmentation(anywhere, corner, 256, 128, augmentation('anywhere')).matrix,
        corner,
      );
      for (const p of a) {
        expect(p![0]).toBeGreaterThanOrEqual(1);
        expect(p![1]).toBeGreaterThanOrEqual(1);
      }
      // unshifted, the window's origin is in [0, 9] x [0, 11] so the object stays near the corner
      expect(a[0]![0]).toBeLessThanOrEqual(10);
      expect(a[0]![1]).toBeLessThanOrEqual(12);
      xs.bounded.push(a[0]![0]);
      xs.anywhere.push(b[0]![0]);
    }
    expect(Math.min(...xs.bounded)).toBeLessThan(2);
    expect(Math.max(...xs.anywhere)).toBeGreaterThan(60);
  });

  it('keeps an object that fills the letterbox inside it rather than shifting it out', () => {
    const wide: MaybePoint[] = [
      [2, 100],
      [254, 140],
    ];
    const rng = createRng(13);
    for (let i = 0; i < 50; i++) {
      const moved = applyAffineToPoints(sampleAugmentation(rng, wide, 256, 256, augmentation([0.3, 0.3])).matrix, wide);
      expect(moved[0]![0]).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(moved[1]![0]).toBeLessThanOrEqual(255 + 1e-9);
    }
  });
});
