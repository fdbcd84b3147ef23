import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, toFloat16Bits } from './float16.js';

describe('float16', () => {
  it('packs known values to their IEEE bit patterns', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(0.5)).toBe(0x3800);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(0.33325, 5);
  });

  it('round-trips similarities within half precision', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.999);
    const back = decodeFloat16(encodeFloat16(values));
    for (let i = 0; i < values.length; i++) expect(Math.abs(back[i]! - values[i]!)).toBeLessThan(5e-4);
  });

  it('refuses an odd byte count', () => {
    expect(() => decodeFloat16(new Uint8Array(3))).toThrow(/cut short/);
  });
});
