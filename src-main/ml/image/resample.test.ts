import { describe, expect, it } from 'vitest';
import { makeInputTransform, toInputPoint, type InputTransform, type Point } from '../../../src-shared/geometry.js';
import type { RgbImage } from './decode.js';
import { renderInput } from './resample.js';

/** Black image with a Gaussian blob (sigma in pixels) centred at continuous point p. */
function blobImage(width: number, height: number, p: Point, sigma: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = 255 * Math.exp(-((x + 0.5 - p[0]) ** 2 + (y + 0.5 - p[1]) ** 2) / (2 * sigma * sigma));
      data.fill(Math.round(v), (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  return { width, height, data };
}

/** Intensity centroid (continuous coordinates) of channel 0 within `radius` of `around`. */
function centroid(pixels: Uint8Array, t: InputTransform, around: Point, radius: number): Point {
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = Math.max(0, Math.floor(around[1] - radius)); y < Math.min(t.height, around[1] + radius); y++)
    for (let x = Math.max(0, Math.floor(around[0] - radius)); x < Math.min(t.width, around[0] + radius); x++) {
      const v = pixels[(y * t.width + x) * 3]!;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      s += v;
    }
  return [sx / s, sy / s];
}

describe('renderInput', () => {
  const cases: {
    name: string;
    w: number;
    h: number;
    p: Point;
    sigma: number;
    size: number;
    mode: 'letterbox' | 'stretch';
    crop?: { x: number; y: number; w: number; h: number };
  }[] = [
    {
      name: 'letterbox, shrinking, asymmetric padding',
      w: 150,
      h: 91,
      p: [61.3, 40.7],
      sigma: 4,
      size: 64,
      mode: 'letterbox',
    },
    { name: 'stretch, shrinking, non-square', w: 150, h: 91, p: [101.6, 30.2], sigma: 4, size: 48, mode: 'stretch' },
    {
      name: 'letterbox of a fractional crop, enlarging',
      w: 150,
      h: 91,
      p: [52.7, 27.1],
      sigma: 1.5,
      size: 96,
      mode: 'letterbox',
      crop: { x: 40.5, y: 20.25, w: 30, h: 17.3 },
    },
    {
      name: 'stretch of a crop hanging over the image corner',
      w: 80,
      h: 60,
      p: [12.4, 9.8],
      sigma: 2,
      size: 60,
      mode: 'stretch',
      crop: { x: -20, y: -10, w: 60, h: 60 },
    },
  ];

  for (const c of cases) {
    it(`puts a dot where the transform maps it: ${c.name}`, () => {
      const image = blobImage(c.w, c.h, c.p, c.sigma);
      const t = makeInputTransform({
        imageWidth: c.w,
        imageHeight: c.h,
        size: c.size,
        mode: c.mode,
        crop: c.crop ?? null,
      });
      const out = renderInput(image, t);
      expect(out.length).toBe(c.size * c.size * 3);
      const expected = toInputPoint(t, c.p);
      const radius = 4 * c.sigma * Math.max(t.scaleX, t.scaleY) + 3;
      const found = centroid(out, t, expected, radius);
      expect(Math.abs(found[0] - expected[0])).toBeLessThan(0.1);
      expect(Math.abs(found[1] - expected[1])).toBeLessThan(0.1);
    });
  }

  it('pads with black, asymmetrically, and keeps a flat image flat up to the borders', () => {
    const image: RgbImage = { width: 150, height: 91, data: new Uint8Array(150 * 91 * 3).fill(200) };
    const t = makeInputTransform({ imageWidth: 150, imageHeight: 91, size: 64, mode: 'letterbox' });
    expect([t.padY, t.contentHeight]).toEqual([12, 39]); // 25 padding rows: 12 above, 13 below
    const out = renderInput(image, t);
    const row = (y: number) => Array.from(out.subarray(y * 64 * 3, (y + 1) * 64 * 3));
    for (const y of [0, 11, 51, 52, 63]) expect(new Set(row(y)), `row ${y}`).toEqual(new Set([0]));
    for (const y of [12, 30, 50]) expect(new Set(row(y)), `row ${y}`).toEqual(new Set([200]));
  });

  it('is black where a crop leaves the image', () => {
    const image: RgbImage = { width: 20, height: 20, data: new Uint8Array(20 * 20 * 3).fill(90) };
    const t = makeInputTransform({
      imageWidth: 20,
      imageHeight: 20,
      size: 40,
      mode: 'stretch',
      crop: { x: 10, y: 0, w: 20, h: 20 },
    });
    const out = renderInput(image, t);
    // columns 0-19 show image x 10-20, columns 20-39 lie past the right edge
    expect(out[(5 * 40 + 10) * 3]).toBe(90);
    expect(out[(5 * 40 + 19) * 3]).toBe(90);
    expect(out[(5 * 40 + 20) * 3]).toBe(0);
    expect(out[(5 * 40 + 39) * 3]).toBe(0);
  });
});
