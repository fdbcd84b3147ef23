import { describe, expect, it } from 'vitest';
import { fitRidge, predictRidge } from './ridge.js';

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ridge regression', () => {
  it('matches the one-dimensional closed form w = sum(xy) / (sum(x^2) + alpha)', () => {
    const x = [[1], [2], [3]];
    const y = [[2], [3.5], [7]];
    const model = fitRidge(x, y, { alpha: 0.5, fitIntercept: false });
    expect(model.weights[0]![0]).toBeCloseTo((2 + 7 + 21) / (14 + 0.5), 12);
  });

  it('recovers a linear map from discovered coordinates (y = Wx, 2K = 20 inputs, 5 targets)', () => {
    const random = rng(1);
    const w = Array.from({ length: 5 }, () => Array.from({ length: 20 }, () => random() - 0.5));
    const x = Array.from({ length: 60 }, () => Array.from({ length: 20 }, () => random() * 96));
    const y = x.map((row) => w.map((wt) => wt.reduce((s, v, i) => s + v * row[i]!, 0)));
    const model = fitRidge(x, y, { alpha: 1e-6, fitIntercept: false });
    model.weights.forEach((row, t) => row.forEach((v, i) => expect(v).toBeCloseTo(w[t]![i]!, 6)));
    const pred = predictRidge(model, x.slice(0, 3));
    pred.forEach((row, n) => row.forEach((v, t) => expect(v).toBeCloseTo(y[n]![t]!, 5)));
  });

  it('learns an unpenalised bias when asked to', () => {
    const x = [[0], [1], [2], [3]];
    const y = x.map(([v]) => [3 * v! + 10]);
    const withBias = fitRidge(x, y, { alpha: 1e-9, fitIntercept: true });
    expect(withBias.weights[0]![0]).toBeCloseTo(3, 6);
    expect(withBias.bias[0]).toBeCloseTo(10, 6);
    const noBias = fitRidge(x, y, { alpha: 1e-9, fitIntercept: false });
    expect(noBias.bias[0]).toBe(0);
    expect(Math.abs(noBias.weights[0]![0]! - 3)).toBeGreaterThan(1);
  });

  it('leaves unlabeled targets out of that column only', () => {
    const random = rng(2);
    const x = Array.from({ length: 12 }, () => [random(), random(), random()]);
    const y: (number | null)[][] = x.map((row) => [row[0]! + 2 * row[1]!, row[2]! - row[0]!]);
    const masked = y.map((row, n) => (n < 4 ? [999, null] : row));
    const full = fitRidge(x, y, { alpha: 0.1, fitIntercept: false });
    const dropped = fitRidge(x.slice(4), y.slice(4), { alpha: 0.1, fitIntercept: false });
    const withMask = fitRidge(x, masked, { alpha: 0.1, fitIntercept: false });
    // Column 1 ignores the masked rows exactly; column 0 still uses every row (including the 999s).
    withMask.weights[1]!.forEach((v, i) => expect(v).toBeCloseTo(dropped.weights[1]![i]!, 12));
    expect(Math.abs(withMask.weights[0]![0]! - full.weights[0]![0]!)).toBeGreaterThan(1);
  });

  it('says clearly what is wrong with bad input', () => {
    expect(() => fitRidge([], [])).toThrow(/at least one labeled example/);
    expect(() => fitRidge([[1, 2]], [[null]])).toThrow(/target column 0 has no labeled example/);
    expect(() => fitRidge([[1, 2], [1]], [[1], [2]])).toThrow(/row 1 has 1 values, expected 2/);
    expect(() => fitRidge([[1, Number.NaN]], [[1]])).toThrow(/non-finite/);
    const model = fitRidge([[1, 2]], [[1]]);
    expect(() => predictRidge(model, [[1]])).toThrow(/expected 2/);
  });
});
