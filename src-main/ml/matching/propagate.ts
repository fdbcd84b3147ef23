// Label propagation (issue 18): a keypoint on a new image is predicted by matching it from the k
// labeled images whose pooled descriptors are most like the new image's, and combining their
// matches by a median weighted by match score. Works from a single labeled image.
import type { Point } from '../../../src-shared/geometry.js';
import { descriptorAt, pooledDescriptor, type DescriptorMap } from './descriptors.js';
import { findPeaks, similarityMap } from './match.js';

/** A labeled image: its descriptor map and its points in grid coordinates (null = not labeled). */
export interface LabeledMap {
  map: DescriptorMap;
  points: (Point | null)[];
}

export interface PropagatedPoint {
  /** Grid coordinates of the combined match; null where no chosen reference labels the keypoint. */
  point: Point | null;
  /** Weighted mean peak similarity of the matches combined. */
  score: number;
  /** References whose match went into it. */
  references: number;
}

/** The value below and above which half the weight lies (the lower one at an exact tie). */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  if (values.length === 0) throw new Error('the weighted median of no values is undefined');
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  for (const i of order) {
    acc += weights[i]!;
    if (acc >= total / 2) return values[i]!;
  }
  return values[order[order.length - 1]!]!;
}

/** Indices of the k references most similar to `target` by pooled descriptor, best first. */
export function nearestReferences(target: DescriptorMap, references: readonly DescriptorMap[], k: number): number[] {
  const query = pooledDescriptor(target);
  const scored = references.map((ref, i) => {
    const pooled = pooledDescriptor(ref);
    let dot = 0;
    for (let d = 0; d < query.length; d++) dot += query[d]! * pooled[d]!;
    return { i, dot };
  });
  return scored
    .sort((a, b) => b.dot - a.dot)
    .slice(0, Math.max(1, k))
    .map((s) => s.i);
}

/** Every keypoint of `target` from its k nearest labeled references. */
export function propagateLabels(target: DescriptorMap, labeled: readonly LabeledMap[], k: number): PropagatedPoint[] {
  if (labeled.length === 0) throw new Error('label propagation needs at least one labeled image');
  const keypoints = labeled[0]!.points.length;
  const chosen = nearestReferences(
    target,
    labeled.map((l) => l.map),
    k,
  ).map((i) => labeled[i]!);
  return Array.from({ length: keypoints }, (_, kp) => {
    const matches = chosen.flatMap((ref) => {
      const p = ref.points[kp];
      if (!p) return [];
      return [findPeaks(similarityMap(target, descriptorAt(ref.map, p)), target.width, target.height)];
    });
    if (matches.length === 0) return { point: null, score: 0, references: 0 };
    // Cosine scores can be <= 0 for hopeless matches: they count, a little.
    const weights = matches.map((m) => Math.max(m.score, 1e-3));
    const total = weights.reduce((s, w) => s + w, 0);
    return {
      point: [
        weightedMedian(
          matches.map((m) => m.point[0]),
          weights,
        ),
        weightedMedian(
          matches.map((m) => m.point[1]),
          weights,
        ),
      ],
      score: matches.reduce((s, m, i) => s + m.score * weights[i]!, 0) / total,
      references: matches.length,
    };
  });
}
