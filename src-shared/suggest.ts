// "Label these next": which unlabeled images to label, from a trained network's pooled backbone
// features (docs/methods.md, "Suggested images"). Pure: the caller hands vectors and confidences.
//
// Features are compared as unit vectors (Euclidean distance between L2-normalised vectors, so
// the scale of a backbone's activations does not matter). Greedy farthest-point sampling: each
// pick is the candidate farthest from every labeled and already-suggested image, its distance
// scaled by the largest such distance among the candidates left, mixed with low confidence
// (CONFIDENCE_WEIGHT of 1 - its least confident point) when a prediction covers it. Candidates
// closer than DUPLICATE_FRACTION of the median nearest-neighbour distance to a labeled or
// suggested image are near-duplicates and skipped.

/** Share of a pick's score that comes from low confidence (the rest: distance to what is labeled). */
export const CONFIDENCE_WEIGHT = 0.3;
/** Near-duplicate radius, as a fraction of the median distance from an image to its nearest other. */
export const DUPLICATE_FRACTION = 0.25;

export interface SuggestInput {
  /** Pooled features by image id (labeled and candidate images; others are ignored). */
  vectors: ReadonlyMap<number, ArrayLike<number>>;
  /** Images already labeled: what the suggestions should be far from. */
  labeled: readonly number[];
  /** Unlabeled images to choose from. */
  candidates: readonly number[];
  /** Least confident point per image, where a prediction run covers it. */
  confidence?: ReadonlyMap<number, number>;
  count: number;
}

export interface SuggestedImage {
  id: number;
  /** Feature distance to the nearest labeled or earlier-suggested image when it was picked. */
  distance: number;
  confidence: number | null;
}

function unit(v: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(v as ArrayLike<number>);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

function distance(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Distance from `v` to the nearest of `anchors` (Infinity when there are none). */
function nearestDistance(v: Float64Array, anchors: readonly Float64Array[]): number {
  let best = Infinity;
  for (const a of anchors) best = Math.min(best, distance(v, a));
  return best;
}

/** The unit vectors of `ids` that have features, in the order given. */
function unitVectors(ids: readonly number[], vectors: SuggestInput['vectors']): { id: number; v: Float64Array }[] {
  return ids.flatMap((id) => {
    const v = vectors.get(id);
    return v ? [{ id, v: unit(v) }] : [];
  });
}

/** Median over `points` of the distance to the nearest other point (0 with fewer than 2). */
function medianNearestDistance(points: readonly Float64Array[]): number {
  if (points.length < 2) return 0;
  const nearest = points.map((p, i) => {
    let best = Infinity;
    points.forEach((q, j) => {
      if (i !== j) best = Math.min(best, distance(p, q));
    });
    return best;
  });
  nearest.sort((a, b) => a - b);
  return nearest[Math.floor(nearest.length / 2)]!;
}

export function suggestImages(input: SuggestInput): SuggestedImage[] {
  const labeled = unitVectors(input.labeled, input.vectors);
  const candidates = unitVectors(input.candidates, input.vectors);
  if (candidates.length === 0 || input.count < 1) return [];
  const duplicateRadius = DUPLICATE_FRACTION * medianNearestDistance([...labeled, ...candidates].map((p) => p.v));
  const known = [...(input.confidence?.values() ?? [])];
  const meanConfidence = known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
  const doubt = (id: number): number => 1 - (input.confidence?.get(id) ?? meanConfidence ?? 1);
  const weight = meanConfidence === null ? 0 : CONFIDENCE_WEIGHT;

  // Distance from each candidate to the nearest chosen (labeled or suggested) image.
  const labeledVectors = labeled.map((l) => l.v);
  const nearest = candidates.map((c) => nearestDistance(c.v, labeledVectors));
  if (labeled.length === 0) {
    // Nothing to be far from yet: the first pick is the most typical image (nearest the mean).
    const mean = new Float64Array(candidates[0]!.v.length);
    for (const c of candidates) c.v.forEach((x, i) => (mean[i]! += x / candidates.length));
    candidates.forEach((c, i) => (nearest[i] = 2 - distance(c.v, mean)));
  }
  const taken = new Set<number>();
  const picks: SuggestedImage[] = [];
  while (picks.length < input.count) {
    let farthest = 0;
    candidates.forEach((_, i) => {
      if (!taken.has(i) && nearest[i]! > duplicateRadius) farthest = Math.max(farthest, nearest[i]!);
    });
    if (farthest === 0) break; // every candidate left duplicates a chosen image
    let best = -1;
    let bestScore = -Infinity;
    candidates.forEach((c, i) => {
      if (taken.has(i) || nearest[i]! <= duplicateRadius) return;
      const score = (1 - weight) * (nearest[i]! / farthest) + weight * doubt(c.id);
      if (score > bestScore) [best, bestScore] = [i, score];
    });
    const pick = candidates[best]!;
    taken.add(best);
    picks.push({
      id: pick.id,
      distance: labeled.length === 0 && picks.length === 0 ? 0 : nearest[best]!,
      confidence: input.confidence?.get(pick.id) ?? null,
    });
    candidates.forEach((c, i) => {
      const d = distance(c.v, pick.v);
      nearest[i] = picks.length === 1 && labeled.length === 0 ? d : Math.min(nearest[i]!, d);
    });
  }
  return picks;
}

/** Mean over `all` of the feature distance to the nearest image of `chosen` (lower covers better). */
export function coverageDistance(
  vectors: ReadonlyMap<number, ArrayLike<number>>,
  all: readonly number[],
  chosen: readonly number[],
): number {
  const anchors = unitVectors(chosen, vectors).map((p) => p.v);
  const points = unitVectors(all, vectors);
  if (anchors.length === 0 || points.length === 0) return NaN;
  const total = points.reduce((sum, p) => sum + nearestDistance(p.v, anchors), 0);
  return total / points.length;
}
