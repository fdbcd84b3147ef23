import { describe, expect, it } from 'vitest';
import {
  clampToRegion,
  applyAffine,
  chainAffine,
  flipPermutation,
  horizontalFlip,
  inputTransformAffine,
  invertAffine,
  makeInputTransform,
  permute,
  rotation,
  scaling,
  toInputPoint,
  toInputPoints,
  toOriginalPoint,
  translation,
  type Point,
} from './geometry.js';

const close = (a: Point, b: Point, digits = 9): void => {
  expect(a[0]).toBeCloseTo(b[0], digits);
  expect(a[1]).toBeCloseTo(b[1], digits);
};

describe('affine maps', () => {
  it('chains in the order given and inverts', () => {
    const m = chainAffine(translation(2, 3), scaling(2, 4), rotation(Math.PI / 2));
    // (1, 1) -> (3, 4) -> (6, 16) -> rotate 90 deg clockwise on screen: (x, y) -> (-y, x)
    close(applyAffine(m, [1, 1]), [-16, 6]);
    close(applyAffine(invertAffine(m), [-16, 6]), [1, 1]);
  });

  it('rotates about a centre, and a flip mirrors an image onto itself', () => {
    close(applyAffine(rotation(Math.PI, 5, 5), [6, 5]), [4, 5]);
    close(applyAffine(horizontalFlip(10), [0.5, 7]), [9.5, 7]);
  });

  it('refuses to invert a singular map', () => {
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/not invertible/);
  });
});

describe('flipPermutation', () => {
  it('swaps partners and keeps the rest', () => {
    const perm = flipPermutation(5, [
      [1, 2],
      [3, 4],
    ]);
    expect(perm).toEqual([0, 2, 1, 4, 3]);
    expect(permute(['nose', 'left', 'right', 'l2', 'r2'], perm)).toEqual(['nose', 'right', 'left', 'r2', 'l2']);
  });

  it('rejects bad pairs with a message', () => {
    expect(() => flipPermutation(3, [[0, 3]])).toThrow(/Bad flip pair/);
    expect(() => flipPermutation(3, [[1, 1]])).toThrow(/Bad flip pair/);
    expect(() =>
      flipPermutation(4, [
        [0, 1],
        [1, 2],
      ]),
    ).toThrow(/more than one/);
  });
});

describe('makeInputTransform', () => {
  it('letterboxes a landscape image with asymmetric padding, exactly both ways', () => {
    const t = makeInputTransform({ imageWidth: 101, imageHeight: 49, size: 64, mode: 'letterbox' });
    expect(t.contentWidth).toBe(64);
    expect(t.contentHeight).toBe(31); // 49 * 64 / 101 = 31.05
    expect(t.padX).toBe(0);
    expect(t.padY).toBe(16); // 33 rows of padding: 16 above, 17 below
    expect(t.scaleX).toBeCloseTo(64 / 101, 12);
    expect(t.scaleY).toBeCloseTo(31 / 49, 12);
    // corners of the image land on the content's corners
    close(toInputPoint(t, [0, 0]), [0, 16]);
    close(toInputPoint(t, [101, 49]), [64, 47]);
    for (const p of [
      [3.25, 7.5],
      [100.9, 0.1],
      [50, 24.5],
    ] as Point[]) {
      close(toOriginalPoint(t, toInputPoint(t, p)), p, 10);
      close(applyAffine(inputTransformAffine(t), p), toInputPoint(t, p), 10);
    }
  });

  it('letterboxes a portrait crop: the crop, not the image, fills the input', () => {
    const crop = { x: 200, y: 100, w: 30, h: 61 };
    const t = makeInputTransform({ imageWidth: 640, imageHeight: 480, size: 96, mode: 'letterbox', crop });
    expect(t.contentHeight).toBe(96);
    expect(t.contentWidth).toBe(47); // 30 * 96 / 61 = 47.2
    expect(t.padX).toBe(24); // 49 columns: 24 left, 25 right
    close(toInputPoint(t, [200, 100]), [24, 0]);
    close(toInputPoint(t, [230, 161]), [24 + 47, 96]);
    close(toOriginalPoint(t, [48, 48]), [200 + (48 - 24) / (47 / 30), 100 + 48 / (96 / 61)]);
  });

  it('stretches both sides to the size in stretch mode', () => {
    const t = makeInputTransform({ imageWidth: 120, imageHeight: 80, size: 96, mode: 'stretch' });
    expect([t.padX, t.padY, t.contentWidth, t.contentHeight]).toEqual([0, 0, 96, 96]);
    close(toInputPoint(t, [60, 40]), [48, 48]);
    close(toInputPoint(t, [120, 80]), [96, 96]);
  });

  it('maps null points to null', () => {
    const t = makeInputTransform({ imageWidth: 10, imageHeight: 10, size: 20, mode: 'stretch' });
    expect(toInputPoints(t, [[1, 1], null])).toEqual([[2, 2], null]);
  });

  it('rejects bad sizes, crops and modes with clear messages', () => {
    expect(() => makeInputTransform({ imageWidth: 0, imageHeight: 10, size: 8, mode: 'stretch' })).toThrow(
      /image size/,
    );
    expect(() => makeInputTransform({ imageWidth: 10, imageHeight: 10, size: 8.5, mode: 'stretch' })).toThrow(
      /positive integer/,
    );
    expect(() =>
      makeInputTransform({
        imageWidth: 10,
        imageHeight: 10,
        size: 8,
        mode: 'stretch',
        crop: { x: 0, y: 0, w: 0, h: 3 },
      }),
    ).toThrow(/crop box/);
    expect(() => makeInputTransform({ imageWidth: 10, imageHeight: 10, size: 8, mode: 'fit' as never })).toThrow(
      /resize mode/,
    );
  });
});

describe('clampToRegion', () => {
  it('keeps inside points and pulls outside ones to the region edge', () => {
    const region = { x: 10, y: 20, w: 100, h: 50 };
    expect(clampToRegion(region, [50, 40])).toEqual([50, 40]);
    expect(clampToRegion(region, [-5, 90])).toEqual([10, 70]);
    expect(clampToRegion(region, [500, 0])).toEqual([110, 20]);
  });

  it('keeps a prediction that fell in the letterbox padding on the image', () => {
    // 640x480 into 160: 20 px of padding above and below the content.
    const t = makeInputTransform({ imageWidth: 640, imageHeight: 480, size: 160, mode: 'letterbox' });
    const [x, y] = clampToRegion(t.region, toOriginalPoint(t, [80, 5]));
    expect(x).toBeCloseTo(320, 6);
    expect(y).toBe(0);
  });
});
