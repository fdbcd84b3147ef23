// Landmark accuracy metrics (DESIGN.md "Metrics") and the mean-shape baseline.
//
// Which ground-truth points count:
// - absent points (null, or visibility 'absent') count nowhere;
// - pixel error and normalised mean error (NME) use every point whose position is known, visible
//   or occluded (an occluded point was still placed by a person);
// - PCK counts visible points only (DESIGN: occluded points ignored).
// Means are over (image, keypoint) pairs; per-keypoint means are over the images having that point.
// Keypoints are referred to by their index in the arrays (not database ids).
import type { CropBox, Visibility } from './domain.js';
import type { MaybePoint, Point } from './geometry.js';

/** A ground-truth point; `Annotation` objects fit this shape. */
export interface TruthPoint {
  x: number;
  y: number;
  visibility: Visibility;
}

export interface EvalSample {
  /** One prediction per keypoint, original image pixels. */
  predicted: readonly Point[];
  /** One entry per keypoint: null (or visibility 'absent') when there is no ground truth. */
  truth: readonly (TruthPoint | null)[];
  /** Longer side of the image, or of the crop for cropped items, pixels (PCK threshold base). */
  referenceSize: number;
}

export interface EvalOptions {
  /** Keypoint indices whose distance normalises NME (e.g. the eyes); null = box diagonal. */
  normPair: readonly [number, number] | null;
  /** PCK threshold as a fraction of `referenceSize`; paper 000 uses 0.05. */
  pckAlpha?: number;
}

export interface LandmarkMetrics {
  /** Samples evaluated and (image, keypoint) pairs with known ground truth. */
  images: number;
  points: number;
  /** Mean Euclidean error, pixels of the original image; null when no point has ground truth. */
  pixelError: number | null;
  pixelErrorPerKeypoint: (number | null)[];
  /** 100 x error / normalisation distance, averaged; null when no image could be normalised. */
  nme: number | null;
  nmePerKeypoint: (number | null)[];
  normalisation: 'pair' | 'bbox';
  /** Images left out of NME: the pair point missing, or a zero-size normalisation. */
  nmeSkippedImages: number;
  /** Fraction (0-1) of visible ground-truth points within pckAlpha x referenceSize. */
  pck: number | null;
  pckPerKeypoint: (number | null)[];
  pckAlpha: number;
}

export const DEFAULT_PCK_ALPHA = 0.05;

function known(t: TruthPoint | null | undefined): t is TruthPoint {
  return t !== null && t !== undefined && t.visibility !== 'absent';
}

/** Euclidean distance between two points. */
export function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Per-keypoint pixel error, null where there is no ground truth. */
export function pointErrors(predicted: readonly Point[], truth: readonly (TruthPoint | null)[]): (number | null)[] {
  if (predicted.length !== truth.length)
    throw new Error(`${predicted.length} predicted points for ${truth.length} ground-truth keypoints`);
  return truth.map((t, k) => (known(t) ? distance(predicted[k] as Point, [t.x, t.y]) : null));
}

/**
 * The distance NME divides by: between the pair's points when `normPair` is set (null when either
 * is missing), else the diagonal of the bounding box of the known ground-truth points (null with
 * fewer than two). Zero distances give null too.
 */
export function normalisationDistance(
  truth: readonly (TruthPoint | null)[],
  normPair: readonly [number, number] | null,
): number | null {
  let d: number;
  if (normPair) {
    const [a, b] = normPair;
    if (a < 0 || b < 0 || a >= truth.length || b >= truth.length)
      throw new Error(`Normalisation pair [${a}, ${b}] is out of range for ${truth.length} keypoints`);
    const ta = truth[a];
    const tb = truth[b];
    if (!known(ta) || !known(tb)) return null;
    d = distance([ta.x, ta.y], [tb.x, tb.y]);
  } else {
    const pts = truth.filter(known);
    if (pts.length < 2) return null;
    const xs = pts.map((t) => t.x);
    const ys = pts.map((t) => t.y);
    d = Math.hypot(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  }
  return d > 0 ? d : null;
}

function meanOrNull(sum: number, count: number): number | null {
  return count > 0 ? sum / count : null;
}

export function evaluateLandmarks(samples: readonly EvalSample[], options: EvalOptions): LandmarkMetrics {
  const alpha = options.pckAlpha ?? DEFAULT_PCK_ALPHA;
  if (!(alpha > 0)) throw new Error(`PCK alpha must be positive, got ${alpha}`);
  const k = samples[0]?.truth.length ?? 0;
  const acc = {
    px: new Float64Array(k),
    pxN: new Float64Array(k),
    nme: new Float64Array(k),
    nmeN: new Float64Array(k),
    pck: new Float64Array(k),
    pckN: new Float64Array(k),
  };
  let skipped = 0;
  samples.forEach((s, i) => {
    if (s.truth.length !== k) throw new Error(`Sample ${i} has ${s.truth.length} keypoints, expected ${k}`);
    if (!(s.referenceSize > 0)) throw new Error(`Sample ${i}: referenceSize must be positive`);
    const errors = pointErrors(s.predicted, s.truth);
    const norm = normalisationDistance(s.truth, options.normPair);
    if (norm === null && errors.some((e) => e !== null)) skipped++;
    errors.forEach((e, j) => {
      if (e === null) return;
      if (!Number.isFinite(e)) throw new Error(`Sample ${i}, keypoint ${j}: prediction is not a finite point`);
      acc.px[j]! += e;
      acc.pxN[j]! += 1;
      if (norm !== null) {
        acc.nme[j]! += (100 * e) / norm;
        acc.nmeN[j]! += 1;
      }
      if (s.truth[j]?.visibility === 'visible') {
        acc.pck[j]! += e <= alpha * s.referenceSize ? 1 : 0;
        acc.pckN[j]! += 1;
      }
    });
  });
  const total = (a: Float64Array): number => a.reduce((x, y) => x + y, 0);
  const perKeypoint = (sum: Float64Array, n: Float64Array): (number | null)[] =>
    Array.from(sum, (v, j) => meanOrNull(v, n[j]!));
  return {
    images: samples.length,
    points: total(acc.pxN),
    pixelError: meanOrNull(total(acc.px), total(acc.pxN)),
    pixelErrorPerKeypoint: perKeypoint(acc.px, acc.pxN),
    nme: meanOrNull(total(acc.nme), total(acc.nmeN)),
    nmePerKeypoint: perKeypoint(acc.nme, acc.nmeN),
    normalisation: options.normPair ? 'pair' : 'bbox',
    nmeSkippedImages: skipped,
    pck: meanOrNull(total(acc.pck), total(acc.pckN)),
    pckPerKeypoint: perKeypoint(acc.pck, acc.pckN),
    pckAlpha: alpha,
  };
}

/** Mean training position of each keypoint in coordinates relative to its frame: (0,0)-(1,1). */
export type MeanShape = MaybePoint[];

export interface ShapeSample {
  /** One entry per keypoint, original pixels; null = no ground truth. */
  points: readonly MaybePoint[];
  /** The image ({x: 0, y: 0, w: width, h: height}) or the item's crop box. */
  frame: CropBox;
}

/**
 * The mean-shape baseline's fit: each keypoint's mean position in frame-relative coordinates over
 * the training samples where it is present (null when it never is).
 */
export function fitMeanShape(samples: readonly ShapeSample[]): MeanShape {
  const k = samples[0]?.points.length ?? 0;
  const sum = Array.from({ length: k }, () => [0, 0, 0]);
  samples.forEach((s, i) => {
    if (s.points.length !== k) throw new Error(`Sample ${i} has ${s.points.length} keypoints, expected ${k}`);
    if (!(s.frame.w > 0 && s.frame.h > 0)) throw new Error(`Sample ${i}: frame must have a positive size`);
    s.points.forEach((p, j) => {
      if (p === null) return;
      const acc = sum[j]!;
      acc[0]! += (p[0] - s.frame.x) / s.frame.w;
      acc[1]! += (p[1] - s.frame.y) / s.frame.h;
      acc[2]! += 1;
    });
  });
  return sum.map(([x, y, n]) => (n! > 0 ? [x! / n!, y! / n!] : null));
}

/** The baseline's prediction for a frame; keypoints never seen in training go to its centre. */
export function predictMeanShape(shape: MeanShape, frame: CropBox): Point[] {
  return shape.map((p) => {
    const [u, v] = p ?? [0.5, 0.5];
    return [frame.x + u * frame.w, frame.y + v * frame.h];
  });
}

/**
 * Whether low confidence flags large errors: of the `fraction` of points with the largest
 * errors, the share that is also among the `fraction` least confident. Chance is `fraction`;
 * confidence that ranks errors perfectly gives 1.
 */
export function lowConfidenceShareOfLargeErrors(
  points: readonly { confidence: number; error: number }[],
  fraction = 0.2,
): number {
  const n = Math.max(1, Math.round(fraction * points.length));
  const indices = points.map((_, i) => i);
  const large = new Set([...indices].sort((a, b) => points[b]!.error - points[a]!.error).slice(0, n));
  const doubtful = [...indices].sort((a, b) => points[a]!.confidence - points[b]!.confidence).slice(0, n);
  return doubtful.filter((i) => large.has(i)).length / n;
}
