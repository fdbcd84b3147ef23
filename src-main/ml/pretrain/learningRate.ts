// MoCo's learning-rate schedule: cosine decay (SGDR without restarts, MoCo v2's `--cos`), after a
// linear warm-up (Goyal et al. 2017) that small folders need: they give few steps per epoch, and
// the full rate on a random network makes a short run's first steps erratic.
import { cosineLearningRate } from '../train/trainLoop.js';

/**
 * Learning rate of step `step` (0-based) of a run of `totalSteps`: rises linearly to `base` over
 * the warm-up (at most a tenth of the run), then follows a half cosine to 0 at `totalSteps`.
 */
export function warmupCosineLearningRate(base: number, step: number, totalSteps: number, warmupSteps: number): number {
  const warmup = Math.min(warmupSteps, Math.floor(totalSteps / 10));
  if (step < warmup) return (base * (step + 1)) / warmup;
  return cosineLearningRate(base, Math.min(step, totalSteps) - warmup, totalSteps - warmup);
}

/**
 * The horizon of a minutes-budgeted run after its latest step: the step at which the pace of this
 * session so far (`stepsDone` in the `spentShare` of the budget used) reaches the deadline, never
 * beyond `maxSteps` and at least one step ahead. Fitted again after every step, the cosine follows
 * the clock and the run ends annealed at the deadline; a fit from the first few steps alone
 * stopped short runs early (their image decoding, before the cache fills, made the pace look
 * slower than it was).
 */
export function horizonAtDeadline(startStep: number, step: number, spentShare: number, maxSteps: number): number {
  const fitting = startStep + Math.round((step - startStep) / Math.max(spentShare, 1e-9));
  return Math.min(maxSteps, Math.max(step + 1, fitting));
}
