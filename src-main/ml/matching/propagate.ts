// Label propagation (issue 18): a keypoint on a new image is predicted by matching it from the k
// labeled images whose pooled descriptors are most like the new image's, and combining their
// matches by a median weighted by match score. Works from a single labeled image.
//
// Coarse to fine: where the object is small in the image (the demo critter on 5% of a 640x480
// frame covers a few cells of the 48x48 grid), most whole-image matches land on background. So a
// coarse pass on the whole image locates the object (the densest cluster of its points' matches),
// then the target is described again on a crop around that place and every labeled image on a
// crop of the same size around its labeled points, and the points are matched crop to crop.
// Where that crop would be as large as the image (an object filling it), the whole-image matches
// are the answer.
import type { CropBox } from '../../../src-shared/domain.js';
import { applyAffine, type Affine, type MaybePoint, type Point } from '../../../src-shared/geometry.js';
import type { CachedDescriptors } from './descriptorCache.js';
import { descriptorAt, gridToImage, imageToGrid, pooledDescriptor, type DescriptorMap } from './descriptors.js';
import { findPeaks, similarityMap, similarityMaps } from './match.js';

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

/** Every keypoint of `target` from its k nearest labeled references, grid coordinates (one scale: no crops). */
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

/** A labeled image: its whole-image descriptors and its visible labeled points, original pixels. */
export interface LabeledImage {
  described: CachedDescriptors;
  points: MaybePoint[];
}

/** A crop to describe, original pixels of a labeled image or of a target. */
export interface CropRequest {
  of: 'labeled' | 'target';
  index: number;
  box: CropBox;
}

/** Descriptors of crops, one per request, in order. */
export type DescribeCrops = (requests: readonly CropRequest[]) => Promise<CachedDescriptors[]>;

/**
 * Crop side per object radius: the object spans half the crop (a 48x48 grid gives it about 24
 * cells across), and a coarse location off by up to the radius still has all its points inside.
 */
export const CROP_SIDE_PER_RADIUS = 4;

/** The centroid of the visible points and the distance of the farthest one from it; null without points. */
export function pointSpread(points: readonly MaybePoint[]): { centre: Point; radius: number } | null {
  const visible = points.filter((p): p is Point => p !== null);
  if (visible.length === 0) return null;
  const centre: Point = [
    visible.reduce((s, p) => s + p[0], 0) / visible.length,
    visible.reduce((s, p) => s + p[1], 0) / visible.length,
  ];
  return { centre, radius: Math.max(...visible.map((p) => Math.hypot(p[0] - centre[0], p[1] - centre[1]))) };
}

/** A labeled point and where it matched, weighted by the match's score. */
export interface Correspondence {
  from: Point;
  to: Point;
  weight: number;
}

/** Scales a labeled object may take on a target of the same camera (pose and distance change its spread). */
export const OBJECT_SCALES: readonly [number, number] = [0.6, 1.6];

/** The similarity transform (rotation, uniform scale, translation) taking a.from to a.to and b.from to b.to. */
function similarityThrough(a: Correspondence, b: Correspondence): Affine | null {
  const px = b.from[0] - a.from[0];
  const py = b.from[1] - a.from[1];
  const qx = b.to[0] - a.to[0];
  const qy = b.to[1] - a.to[1];
  const norm = px * px + py * py;
  if (norm === 0) return null;
  // (qx + i qy) / (px + i py): the rotation and scale as one complex factor.
  const re = (qx * px + qy * py) / norm;
  const im = (qy * px - qx * py) / norm;
  return [re, -im, a.to[0] - re * a.from[0] + im * a.from[1], im, re, a.to[1] - im * a.from[0] - re * a.from[1]];
}

/**
 * The similarity transform most correspondences agree with (every pair tried as a hypothesis, its
 * scale within OBJECT_SCALES), and the summed weight of those it carries within `tolerance`.
 * Matches that collapse onto one background blob imply a scale near zero and are refused.
 */
export function consensusSimilarity(
  correspondences: readonly Correspondence[],
  tolerance: number,
): { transform: Affine; support: number } | null {
  let best: { transform: Affine; support: number } | null = null;
  for (let i = 0; i < correspondences.length; i++)
    for (let j = i + 1; j < correspondences.length; j++) {
      const transform = similarityThrough(correspondences[i]!, correspondences[j]!);
      if (!transform) continue;
      const scale = Math.hypot(transform[0], transform[3]);
      if (scale < OBJECT_SCALES[0] || scale > OBJECT_SCALES[1]) continue;
      let support = 0;
      for (const c of correspondences) {
        const [x, y] = applyAffine(transform, c.from);
        if (Math.hypot(x - c.to[0], y - c.to[1]) <= tolerance) support += c.weight;
      }
      if (!best || support > best.support) best = { transform, support };
    }
  return best;
}

/**
 * The coarse pass: where the object is (original pixels of the target), from maps of the target at
 * the references' scale (`tiles`: overlapping crops that cover it). Every labeled point of a
 * reference is matched on every tile and keeps its best match; the similarity transform most of
 * a reference's matches agree with carries its centroid onto the target, a vote weighted by that
 * agreement. The object is where the votes crowd: the vote with the most weighted company within
 * `radius`, moved to the weighted mean of the votes around it until it settles (mean shift).
 * Null when no reference has two labeled points in a plausible arrangement.
 */
export function locateObject(
  tiles: readonly CachedDescriptors[],
  references: readonly LabeledImage[],
  radius: number,
): Point | null {
  const labeledPoints = references.map((ref) =>
    ref.points.filter((p): p is Point => p !== null && insideRegion(ref.described.transform.region, p)),
  );
  const queries = references.flatMap((ref, r) =>
    labeledPoints[r]!.map((p) => descriptorAt(ref.described.map, imageToGrid(ref.described, p))),
  );
  const cells = tiles.length ? tiles[0]!.map.width * tiles[0]!.map.height : 0;
  const bestMatches = similarityMaps(
    tiles.map((t) => t.map),
    queries,
  ).map((similarity) => {
    let best: { at: Point; score: number } | null = null;
    for (const [i, tile] of tiles.entries()) {
      const peak = findPeaks(similarity.subarray(i * cells, (i + 1) * cells), tile.map.width, tile.map.height);
      if (!best || peak.score > best.score) best = { at: gridToImage(tile, peak.point), score: peak.score };
    }
    return best!;
  });
  let next = 0;
  const votes = labeledPoints.flatMap((points) => {
    const correspondences = points.map((from) => {
      const match = bestMatches[next++]!;
      return { from, to: match.at, weight: Math.max(match.score, 1e-3) };
    });
    const fit = consensusSimilarity(correspondences, radius / 2);
    const spread = pointSpread(points);
    return fit && spread ? [{ at: applyAffine(fit.transform, spread.centre), weight: fit.support }] : [];
  });
  if (votes.length === 0) return null;
  const near = (c: Point) => votes.filter((v) => Math.hypot(v.at[0] - c[0], v.at[1] - c[1]) <= radius);
  const support = (c: Point) => near(c).reduce((s, v) => s + v.weight, 0);
  let centre = votes.reduce((best, v) => (support(v.at) > support(best.at) ? v : best)).at;
  for (let step = 0; step < 10; step++) {
    const around = near(centre);
    const total = around.reduce((s, v) => s + v.weight, 0);
    const moved: Point = [
      around.reduce((s, v) => s + v.at[0] * v.weight, 0) / total,
      around.reduce((s, v) => s + v.at[1] * v.weight, 0) / total,
    ];
    const shift = Math.hypot(moved[0] - centre[0], moved[1] - centre[1]);
    centre = moved;
    if (shift < radius * 1e-3) break;
  }
  return centre;
}

/** Squares of side `side` over `region`, each half over the next, the last of a row or column flush with its edge. */
export function tileRegion(region: CropBox, side: number): CropBox[] {
  const starts = (from: number, length: number): number[] => {
    const count = Math.max(1, Math.ceil((length - side) / (side / 2)) + 1);
    return Array.from({ length: count }, (_, i) =>
      count === 1 ? from + (length - side) / 2 : from + ((length - side) * i) / (count - 1),
    );
  };
  return starts(region.y, region.h).flatMap((y) =>
    starts(region.x, region.w).map((x) => ({
      x: Math.round(x),
      y: Math.round(y),
      w: Math.round(side),
      h: Math.round(side),
    })),
  );
}

const squareAround = (centre: Point, side: number): CropBox => ({
  x: Math.round(centre[0] - side / 2),
  y: Math.round(centre[1] - side / 2),
  w: Math.round(side),
  h: Math.round(side),
});

const insideRegion = (region: CropBox, p: Point): boolean =>
  p[0] >= region.x && p[1] >= region.y && p[0] <= region.x + region.w && p[1] <= region.y + region.h;

/** `propagateLabels` on described images with points in original pixels; predictions in the target's original pixels. */
function propagateOnMaps(
  target: CachedDescriptors,
  labeled: readonly { described: CachedDescriptors; points: MaybePoint[] }[],
  k: number,
): PropagatedPoint[] {
  const onGrid = labeled.map((l) => ({
    map: l.described.map,
    // A labeled point outside its crop has no descriptor there.
    points: l.points.map((p) =>
      p && insideRegion(l.described.transform.region, p) ? imageToGrid(l.described, p) : null,
    ),
  }));
  return propagateLabels(target.map, onGrid, k).map((q) => ({
    ...q,
    point: q.point ? gridToImage(target, q.point) : null,
  }));
}

/**
 * Every keypoint of each target (original pixels) from its k nearest labeled images, coarse to
 * fine. All crops share one side, `CROP_SIDE_PER_RADIUS` times the median object radius of the
 * labeled images, so that the object has the same scale in the target's tiles and crop as in the
 * labeled images' crops (images of one camera); a target whose image is not larger than that side
 * is matched on whole images.
 */
export async function propagateToTargets(
  targets: readonly CachedDescriptors[],
  labeled: readonly LabeledImage[],
  k: number,
  describeCrops: DescribeCrops,
): Promise<PropagatedPoint[][]> {
  if (labeled.length === 0) throw new Error('label propagation needs at least one labeled image');
  const spreads = labeled.map((l) => pointSpread(l.points));
  const radii = spreads.flatMap((s) => (s && s.radius > 0 ? [s.radius] : [])).sort((a, b) => a - b);
  const radius = radii.length ? radii[Math.floor((radii.length - 1) / 2)]! : Infinity;
  const side = CROP_SIDE_PER_RADIUS * radius;
  const small = targets.flatMap((t, index) =>
    side < Math.max(t.transform.region.w, t.transform.region.h) ? [index] : [],
  );
  const whole = (index: number) => propagateOnMaps(targets[index]!, labeled, k);
  if (small.length === 0) return targets.map((_, index) => whole(index));

  const labeledRequests = spreads.flatMap((spread, index) =>
    spread ? [{ of: 'labeled' as const, index, box: squareAround(spread.centre, side) }] : [],
  );
  const tileRequests = small.flatMap((index) =>
    tileRegion(targets[index]!.transform.region, side).map((box) => ({ of: 'target' as const, index, box })),
  );
  const coarse = await describeCrops([...labeledRequests, ...tileRequests]);
  const labeledCrops = labeledRequests.map((r, i) => ({ described: coarse[i]!, points: labeled[r.index]!.points }));
  const tiles = tileRequests.map((r, i) => ({ index: r.index, described: coarse[labeledRequests.length + i]! }));

  const cropRequests = small.flatMap((index) => {
    const targetTiles = tiles.filter((t) => t.index === index).map((t) => t.described);
    const centre = locateObject(targetTiles, labeledCrops, radius);
    return centre ? [{ of: 'target' as const, index, box: squareAround(centre, side) }] : [];
  });
  const crops = await describeCrops(cropRequests);
  return targets.map((_, index) => {
    const at = cropRequests.findIndex((r) => r.index === index);
    return at < 0 ? whole(index) : propagateOnMaps(crops[at]!, labeledCrops, k);
  });
}
