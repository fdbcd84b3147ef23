import { describe, expect, it } from 'vitest';
import { warmupCosineLearningRate } from './learningRate.js';

describe('warm-up + cosine learning rate', () => {
  it('ramps up linearly, then decays along a half cosine to 0', () => {
    // 100 steps, 10 of warm-up, base 0.03.
    const lr = (step: number) => warmupCosineLearningRate(0.03, step, 100, 10);
    expect(lr(0)).toBeCloseTo(0.003, 12);
    expect(lr(4)).toBeCloseTo(0.015, 12);
    expect(lr(9)).toBeCloseTo(0.03, 12);
    expect(lr(10)).toBeCloseTo(0.03, 12);
    // Halfway through the 90 cosine steps: 0.5 * 0.03 * (1 + cos(pi / 2)) = 0.015.
    expect(lr(55)).toBeCloseTo(0.015, 12);
    expect(lr(100)).toBeCloseTo(0, 12);
    expect(lr(150)).toBeCloseTo(0, 12);
  });

  it('limits the warm-up to a tenth of a short run', () => {
    // 20 steps: warm-up 2 steps although 100 were asked for.
    expect(warmupCosineLearningRate(0.1, 0, 20, 100)).toBeCloseTo(0.05, 12);
    expect(warmupCosineLearningRate(0.1, 2, 20, 100)).toBeCloseTo(0.1, 12);
  });
});
