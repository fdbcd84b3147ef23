// Which heatmap peaks to believe together. With few labels a heatmap is often right about where a
// landmark could be and wrong about which of two or three places it is: on the DLC reaching frames
// at 5 labels, the joystick's tip was sometimes put on the mouse's nose, 450 px from the joystick's
// other point, although every labeled frame has the two about 160 px apart. Decoding each map on
// its own (argmax) cannot see that; a pictorial-structure model can (Felzenszwalb & Huttenlocher
// 2005): a score per part location plus a score per pair of parts.
//
// Here the pair score is a distance band. For every two landmarks labeled together in a training
// image, the band is [smallest labeled distance x smallest augmentation scale, largest x largest
// scale]: what the labels show, widened by the scales training taught the network to expect. A
// choice of peaks scores sum(log p_k(peak_k)) - sum over pairs (excess / softness)^2 * penalty,
// where excess is how far the pair's distance is outside its band (0 inside); distances are
// fractions of the network input's side, so a band holds whatever the image size.
//
// The choice is made among each landmark's few highest local maxima by steepest ascent: start from
// every landmark's own best peak, then make the one change of one landmark's peak that raises the
// total most, until none does. Tried on the same heatmaps (two 5-label DLC models) and not kept:
// exact inference on a spanning tree of the pairs (the tightest bands are the pairs labeled
// together once, which say least: it fixed nothing), and iterated conditional modes, whose result
// depended on the order the landmarks were visited in (mean error 66-80 px over three orders,
// against argmax 74.9 and 86.3 px; steepest ascent 65.7 and 70.8 px).
import type { MaybePoint } from '../../../src-shared/geometry.js';

/** Two landmarks' distance band, fractions of the network input's side. */
export interface DistanceBand {
  a: number;
  b: number;
  min: number;
  max: number;
}

/** Distance bands of the pairs of landmarks labeled together; saved with the model. */
export interface DistancePrior {
  pairs: DistanceBand[];
}

/** A heatmap local maximum: input pixels, and its log-probability under the landmark's softmax. */
export interface PeakCandidate {
  x: number;
  y: number;
  logProbability: number;
}

export const DISTANCE_PRIOR_DECODING = {
  /** Local maxima kept per landmark (4, 6 and 10 chose the same peaks on the DLC frames). */
  candidates: 6,
  /** Log-probability lost per (softness)^2 outside a band (0.3, 1 and 3 chose the same peaks). */
  penalty: 1,
  /** Distance outside a band (fraction of the input side) that costs `penalty`. */
  softness: 0.05,
} as const;

/**
 * Bands from each training image's points in input pixels (null: not labeled or not visible) of a
 * network input `side` pixels square, widened by the augmentation's scale range [lo, hi].
 */
export function fitDistancePrior(
  skeletons: readonly (readonly MaybePoint[])[],
  side: number,
  [scaleLo, scaleHi]: readonly [number, number],
): DistancePrior {
  const k = Math.max(0, ...skeletons.map((s) => s.length));
  const pairs: DistanceBand[] = [];
  for (let a = 0; a < k; a++)
    for (let b = a + 1; b < k; b++) {
      let min = Infinity;
      let max = -Infinity;
      for (const points of skeletons) {
        const p = points[a];
        const q = points[b];
        if (!p || !q) continue;
        const d = Math.hypot(p[0] - q[0], p[1] - q[1]) / side;
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      if (max >= 0) pairs.push({ a, b, min: min * Math.min(scaleLo, 1), max: max * Math.max(scaleHi, 1) });
    }
  return { pairs };
}

/**
 * For each landmark, the index of the candidate to believe (candidates sorted best first, at least
 * one each) under `prior`, for a network input `side` pixels square.
 */
export function choosePeaks(
  candidates: readonly (readonly PeakCandidate[])[],
  prior: DistancePrior,
  side: number,
): number[] {
  const { penalty, softness } = DISTANCE_PRIOR_DECODING;
  // Each move raises the total, so the ascent ends; the cap only bounds its time.
  const moves = candidates.length * DISTANCE_PRIOR_DECODING.candidates;
  const chosen = candidates.map(() => 0);
  const bandsOf = candidates.map(() => [] as { other: number; min: number; max: number }[]);
  for (const { a, b, min, max } of prior.pairs) {
    if (a >= candidates.length || b >= candidates.length) continue;
    bandsOf[a]!.push({ other: b, min, max });
    bandsOf[b]!.push({ other: a, min, max });
  }
  const cost = (p: PeakCandidate, q: PeakCandidate, min: number, max: number) => {
    const d = Math.hypot(p.x - q.x, p.y - q.y) / side;
    const excess = Math.max(min - d, 0, d - max) / softness;
    return penalty * excess * excess;
  };
  // Each move: the one change of one landmark's peak that raises the total score most.
  const scoreOf = (k: number, i: number) => {
    const p = candidates[k]![i]!;
    let score = p.logProbability;
    for (const { other, min, max } of bandsOf[k]!) score -= cost(p, candidates[other]![chosen[other]!]!, min, max);
    return score;
  };
  for (let move = 0; move < moves; move++) {
    let gain = 1e-9;
    let best: [number, number] | null = null;
    candidates.forEach((own, k) => {
      const current = scoreOf(k, chosen[k]!);
      for (let i = 0; i < own.length; i++) {
        const g = scoreOf(k, i) - current;
        if (g > gain) {
          gain = g;
          best = [k, i];
        }
      }
    });
    if (!best) break;
    chosen[best[0]] = best[1];
  }
  return chosen;
}
