import { describe, expect, it } from 'vitest';
import { mapColor, mapPixels } from './mapImage.js';

describe('overlay map colours', () => {
  it('hides low values and shows high ones opaque and warm', () => {
    expect(mapColor(0)[3]).toBe(0);
    expect(mapColor(1)).toEqual([255, 255, 0, 230]);
    const alphas = [0, 0.25, 0.5, 0.75, 1].map((t) => mapColor(t)[3]);
    expect(alphas).toEqual([...alphas].sort((a, b) => a - b));
    expect(new Set(alphas).size).toBe(alphas.length);
  });

  it('scales values between the stored range, clamping outside it and reading NaN as nothing', () => {
    const pixels = mapPixels([-1, 0.5, 1, 2, Number.NaN], -1, 1);
    expect(Array.from(pixels.slice(0, 4))).toEqual(mapColor(0));
    expect(Array.from(pixels.slice(4, 8))).toEqual(mapColor(0.75));
    expect(Array.from(pixels.slice(8, 12))).toEqual(mapColor(1));
    expect(Array.from(pixels.slice(12, 16))).toEqual(mapColor(1));
    expect(pixels[19]).toBe(0);
  });
});
