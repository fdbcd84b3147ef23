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
