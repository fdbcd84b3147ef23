// Which keypoint is "current" while labeling: the labeling order is Keypoint.order.
import type { Keypoint } from '../../../src-shared/domain.js';

export function sortedKeypoints(keypoints: readonly Keypoint[]): Keypoint[] {
  return [...keypoints].sort((a, b) => a.order - b.order || a.id - b.id);
}

/** The first keypoint in order without an annotation, else the first keypoint (null when none). */
export function firstUnlabeled(ordered: readonly Keypoint[], labeled: ReadonlySet<number>): number | null {
  return (ordered.find((k) => !labeled.has(k.id)) ?? ordered[0])?.id ?? null;
}

/**
 * The next keypoint without an annotation after `currentId`, wrapping around; `currentId` itself
 * when every keypoint is labeled, so the user stays where they were.
 */
export function nextUnlabeled(ordered: readonly Keypoint[], labeled: ReadonlySet<number>, currentId: number): number {
  const start = ordered.findIndex((k) => k.id === currentId);
  for (let step = 1; step <= ordered.length; step++) {
    const candidate = ordered[(start + step) % ordered.length];
    if (candidate && !labeled.has(candidate.id)) return candidate.id;
  }
  return currentId;
}

/** The keypoint `delta` places away from `currentId` in labeling order, wrapping around. */
export function stepKeypoint(ordered: readonly Keypoint[], currentId: number | null, delta: number): number | null {
  if (ordered.length === 0) return null;
  const index = Math.max(
    0,
    ordered.findIndex((k) => k.id === currentId),
  );
  const next = (((index + delta) % ordered.length) + ordered.length) % ordered.length;
  return ordered[next]?.id ?? null;
}
