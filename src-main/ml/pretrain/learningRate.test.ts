import { describe, expect, it } from 'vitest';
import { horizonAtDeadline, warmupCosineLearningRate } from './learningRate.js';

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

describe('horizon at the deadline', () => {
  it('extrapolates the pace of this session to the whole budget', () => {
    // 30 steps in a quarter of the budget: 120 by the deadline.
    expect(horizonAtDeadline(0, 30, 0.25, 1000)).toBe(120);
    // Resumed at step 500: only this session's steps and time count.
    expect(horizonAtDeadline(500, 530, 0.25, 1000)).toBe(620);
  });

  it('stays one step ahead, and within the epochs budget', () => {
    expect(horizonAtDeadline(0, 30, 1.5, 1000)).toBe(31);
    expect(horizonAtDeadline(0, 30, 0.01, 1000)).toBe(1000);
    expect(horizonAtDeadline(0, 0, 0, 1000)).toBe(1);
  });
});
