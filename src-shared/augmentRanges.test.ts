import { describe, expect, it } from 'vitest';
import { AUGMENT_MARGINS, chooseAugmentation, describeAugmentation, type SkeletonSample } from './augmentRanges.js';
import type { MaybePoint } from './geometry.js';
import { createRng } from './random.js';

// A hand-made skeleton facing up (-y): nose, left eye, right eye, tail base, and a tail tip bent
// to one side so that its mirror image is a different pose.
const SHAPE: [number, number][] = [
  [0, -1],
  [-0.2, -0.7],
  [0.2, -0.7],
  [0, 0.5],
  [0.3, 1.2],
];
const EYES: [number, number][] = [[1, 2]];

/**
 * SHAPE turned by `deg` (clockwise on screen), scaled by `size` pixels, centred at (cx, cy), its
 * tail tip bent by `bend` (1: as drawn, -1: to the other side, a posture).
 */
function placed(deg: number, size: number, cx: number, cy: number, bend = 1): [number, number][] {
  const t = (deg * Math.PI) / 180;
  return SHAPE.map(([x0, y], k) => {
    const x = x0 * (k === 4 ? bend : 1);
    return [cx + size * (x * Math.cos(t) - y * Math.sin(t)), cy + size * (x * Math.sin(t) + y * Math.cos(t))];
  });
}

const sample = (points: MaybePoint[], width = 640, height = 480): SkeletonSample => ({ points, width, height });

describe('chooseAugmentation', () => {
  it('rotated copies give their rotation range plus the margin', () => {
    const rng = createRng(1);
    const angles = [-40, 40, ...Array.from({ length: 10 }, () => rng.uniform(-40, 40))];
    const { ranges, spread } = chooseAugmentation(
      angles.map((a) => sample(placed(a + 90, 40, rng.uniform(100, 500), rng.uniform(100, 400)))),
      EYES,
    );
    expect(spread.rotationDegrees).toBeCloseTo(40, 6);
    expect(ranges.rotationDegrees).toBeCloseTo(40 + AUGMENT_MARGINS.rotationDegrees, 6);
    expect(spread.scale[0]).toBeCloseTo(1, 6);
    expect(spread.scale[1]).toBeCloseTo(1, 6);
    expect(ranges.scale[0]).toBeCloseTo(1 / AUGMENT_MARGINS.scaleFactor, 6);
    expect(ranges.scale[1]).toBeCloseTo(AUGMENT_MARGINS.scaleFactor, 6);
  });

  it('measures orientations across the +-180 seam, and any orientation gives the full circle', () => {
    const seam = chooseAugmentation(
      [170, -170, 175, 180].map((a) => sample(placed(a, 40, 320, 240))),
      EYES,
    );
    expect(seam.spread.rotationDegrees).toBeCloseTo(10, 6);
    const rng = createRng(2);
    const free = chooseAugmentation(
      // a free-moving animal bends its tail either way
      Array.from({ length: 20 }, () =>
        sample(placed(rng.uniform(-180, 180), 30, rng.uniform(40, 600), rng.uniform(40, 440), rng.uniform(-1, 1))),
      ),
      EYES,
    );
    expect(free.ranges.rotationDegrees).toBeGreaterThan(140);
    const [tx, ty] = free.ranges.translate as [number, number];
    // positions over most of the frame: shifts of about half of it (in longer sides)
    expect(tx).toBeGreaterThan(0.4);
    expect(ty).toBeGreaterThan(0.25);
    expect(free.ranges.flip).toBe(true);
  });

  it('a fixed rig gives a small rotation, a shift along the runway only, and no flips', () => {
    const rng = createRng(3);
    // heading right (+-4 degrees) along a runway across a 160x120 frame, at y 28-32
    const rig = Array.from({ length: 20 }, () =>
      sample(placed(90 + rng.uniform(-4, 4), 12, rng.uniform(30, 130), rng.uniform(28, 32)), 160, 120),
    );
    const { ranges, spread } = chooseAugmentation(rig, EYES);
    expect(spread.rotationDegrees).toBeLessThan(4.5);
    expect(ranges.rotationDegrees).toBeLessThan(20);
    expect(ranges.translate).not.toBe('anywhere');
    const [tx, ty] = ranges.translate as [number, number];
    // x: positions over 100 of 160 pixels, half-range ~0.3; y: over 4 pixels
    expect(tx).toBeGreaterThan(0.25);
    expect(tx).toBeLessThan(0.4);
    expect(ty).toBeLessThan(0.03 + AUGMENT_MARGINS.translate);
    // a mirror turns the rig's animal to head left, which no label shows
    expect(spread.mirroredRotationDegrees).toBeGreaterThan(150);
    expect(ranges.flip).toBe(false);
    expect(describeAugmentation(ranges)).toMatch(
      /^rotation \+-1\d deg, scale 0\.87-1\.15, shift \+-0\.\d\d x 0\.0\d of the frame, flips off$/,
    );
  });

  it('turns flips off for a rig filming the animal and its mirror image in one frame', () => {
    const rng = createRng(6);
    // points 0-4 the top view heading right, 5-9 the bottom view: the frame mirrored vertically
    const rig = Array.from({ length: 20 }, () => {
      const top = placed(90 + rng.uniform(-10, 10), 12, rng.uniform(30, 130), rng.uniform(20, 35), rng.uniform(-1, 1));
      return sample([...top, ...top.map(([x, y]): [number, number] => [x, 120 - y])], 160, 120);
    });
    const { ranges, spread } = chooseAugmentation(rig, [
      [1, 2],
      [6, 7],
    ]);
    // a horizontal flip of the pair is the pair turned by 180 degrees with the views' names swapped
    expect(spread.mirroredShapeMismatch).toBeGreaterThan(5);
    expect(ranges.flip).toBe(false);
    expect(ranges.rotationDegrees).toBeLessThan(30);
  });

  it('keeps flips for upright objects whose mirror image (partners swapped) is a labeled pose', () => {
    const rng = createRng(4);
    const upright = Array.from({ length: 10 }, () => {
      const points = placed(rng.uniform(-10, 10), 40, 320, 240);
      // half of them mirrored (the animal's left eye stays the left one): the labels show both
      if (rng.chance(0.5)) {
        const m = points.map(([x, y]): [number, number] => [640 - x, y]);
        return sample([m[0]!, m[2]!, m[1]!, m[3]!, m[4]!]);
      }
      return sample(points);
    });
    expect(chooseAugmentation(upright, EYES).ranges.flip).toBe(true);
  });

  it('measures the scale spread about its geometric middle, whatever the frame size', () => {
    const sizes = [32, 50, 40];
    const { ranges, spread } = chooseAugmentation(
      // the second image is twice the first one's size with its object twice as large: same scale
      sizes.map((s, i) => sample(placed(0, s, 300, 200), i === 1 ? 1280 : 640, i === 1 ? 960 : 480)),
      EYES,
    );
    // relative scales 32/640, 50/1280, 40/640: smallest 50/1280, largest 40/640
    const mid = Math.sqrt((50 / 1280) * (40 / 640));
    expect(spread.scale[0]).toBeCloseTo(50 / 1280 / mid, 6);
    expect(spread.scale[1]).toBeCloseTo(40 / 640 / mid, 6);
    expect(ranges.scale[1]).toBeCloseTo(spread.scale[1] * AUGMENT_MARGINS.scaleFactor, 6);
    expect(ranges.scale[0]).toBeCloseTo(1 / ranges.scale[1], 6);
  });

  it('fits skeletons with missing points, and skips those with fewer than two', () => {
    const rng = createRng(5);
    const samples = Array.from({ length: 12 }, (_, i) => {
      const points: MaybePoint[] = placed(rng.uniform(-20, 20), 40, 320, 240);
      points[i % 5] = null;
      points[(i + 2) % 5] = null;
      return sample(points);
    });
    samples.push(sample([[10, 10], null, null, null, null]));
    const { spread } = chooseAugmentation(samples, EYES);
    expect(spread.skeletons).toBe(12);
    expect(spread.rotationDegrees).toBeLessThan(20.5);
    expect(spread.rotationDegrees).toBeGreaterThan(10);
  });

  it('refuses input it cannot measure, saying why', () => {
    expect(() => chooseAugmentation([], EYES)).toThrow(/needs labeled images: none were given/);
    expect(() => chooseAugmentation([sample([[1, 1], null, null, null, null])], EYES)).toThrow(/2 or more points/);
    expect(() => chooseAugmentation([sample(placed(0, 40, 100, 100)), sample([[1, 1]])], EYES)).toThrow(
      /labeled image 1 has 1 points, expected 5/,
    );
    expect(() => chooseAugmentation([sample(placed(0, 40, 100, 100), 0, 480)], EYES)).toThrow(/has no size/);
    expect(() => chooseAugmentation([sample(placed(0, 40, 100, 100))], [[1, 7]])).toThrow(/Bad flip pair/);
  });
});
