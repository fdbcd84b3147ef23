// Geometric augmentation ranges chosen from the labeled skeletons (issue 16 point 3): a fixed
// recipe for free-moving animals (rotation +-180 degrees, objects anywhere, flips) teaches a fixed
// rig things its frames never show (a top view rotated by 180 degrees looks like the mirrored
// bottom one). Instead: fit every labeled skeleton to the mean shape by a similarity
// (generalised Procrustes), and let the augmentation cover what the labels show (their spread of
// rotation, scale and position) plus a stated margin.
import { flipPermutation, permute, type MaybePoint } from './geometry.js';

/** The heatmap head's geometric augmentation: what a run records and what a user may override. */
export interface GeometricAugmentation {
  /** Rotation range, degrees either side of each image's labeled orientation (0-180). */
  rotationDegrees: number;
  /** Scale range [min, max] (sampled log-uniformly). */
  scale: [number, number];
  /**
   * Largest shift of the object from its labeled place along x and y, as fractions of the
   * frame's longer side; 'anywhere': wherever it fits in the training crop, however far from its
   * labeled place (the fixed recipe of earlier versions; a user's choice, never chosen from data).
   */
  translate: [number, number] | 'anywhere';
  /** Horizontal flips (swapping left/right partners). */
  flip: boolean;
}

/** What the labels show, before margins: half-widths of the spreads. */
export interface LabeledSpread {
  /** Labeled skeletons that had 2+ points (orientation and scale need two). */
  skeletons: number;
  /** Half the smallest arc of orientations holding every skeleton, degrees. */
  rotationDegrees: number;
  /** Smallest and largest skeleton scale relative to their geometric middle. */
  scale: [number, number];
  /** Half the range of the skeletons' positions along x and y, fractions of the longer side. */
  translate: [number, number];
  /**
   * How far a mirrored skeleton (partners swapped) is turned from the nearest labeled orientation,
   * degrees, at most (0 when the labels already show mirrored poses).
   */
  mirroredRotationDegrees: number;
  /**
   * How much worse mirrored skeletons fit the mean shape than the labeled ones (ratio of their
   * mean Procrustes residuals): about 1 when mirrored poses look like labeled ones.
   */
  mirroredShapeMismatch: number;
}

/**
 * Margins added to what the labels show, for poses the few labels missed: 15 degrees of rotation
 * (the range that worked on the fixed rig of issue 16), a factor 1.15 of scale either way, and 5%
 * of the frame's longer side of shift.
 */
export const AUGMENT_MARGINS = { rotationDegrees: 15, scaleFactor: 1.15, translate: 0.05 } as const;

/**
 * Mirrored skeletons may fit the mean shape this many times worse than the labeled ones and still
 * count as poses the labels show (posture varies; a mirror that swaps the ends of a rig does not
 * fit at all).
 */
export const MIRRORED_SHAPE_TOLERANCE = 2;

export interface SkeletonSample {
  /** One entry per keypoint, pixels of its frame; null = not labeled. */
  points: readonly MaybePoint[];
  /** Size of the frame the points are in (the image or its crop). */
  width: number;
  height: number;
}

type C = [number, number];

/** Similarity fit z_target ~= c * (z - zc) + tc on the keypoints both have, as complex numbers. */
interface SimilarityFit {
  /** Rotation and scale (complex): arg = rotation from skeleton to target, |c| = scale. */
  c: C;
  sourceCentre: C;
  targetCentre: C;
}

function fitSimilarity(source: readonly MaybePoint[], target: readonly MaybePoint[]): SimilarityFit | null {
  const shared = source.flatMap((p, k) => (p && target[k] ? [k] : []));
  if (shared.length < 2) return null;
  const centre = (ps: readonly MaybePoint[]): C => {
    let x = 0;
    let y = 0;
    for (const k of shared) {
      x += ps[k]![0];
      y += ps[k]![1];
    }
    return [x / shared.length, y / shared.length];
  };
  const sc = centre(source);
  const tc = centre(target);
  // c = sum(conj(s) t) / sum(|s|^2): the least-squares similarity between centred point sets
  let re = 0;
  let im = 0;
  let norm = 0;
  for (const k of shared) {
    const sx = source[k]![0] - sc[0];
    const sy = source[k]![1] - sc[1];
    const tx = target[k]![0] - tc[0];
    const ty = target[k]![1] - tc[1];
    re += sx * tx + sy * ty;
    im += sx * ty - sy * tx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 0) || Math.hypot(re, im) === 0) return null;
  return { c: [re / norm, im / norm], sourceCentre: sc, targetCentre: tc };
}

function applyFit(fit: SimilarityFit, p: C): C {
  const x = p[0] - fit.sourceCentre[0];
  const y = p[1] - fit.sourceCentre[1];
  const [a, b] = fit.c;
  return [a * x - b * y + fit.targetCentre[0], b * x + a * y + fit.targetCentre[1]];
}

/** Root-mean-square distance of the fitted skeleton from the target on the keypoints both have. */
function residual(fit: SimilarityFit, source: readonly MaybePoint[], target: readonly MaybePoint[]): number {
  let sum = 0;
  let n = 0;
  source.forEach((p, k) => {
    const t = target[k];
    if (!p || !t) return;
    const q = applyFit(fit, p);
    sum += (q[0] - t[0]) ** 2 + (q[1] - t[1]) ** 2;
    n++;
  });
  return Math.sqrt(sum / n);
}

/** The mean shape, centred on its keypoints and of unit root-mean-square size. */
function normalised(shape: MaybePoint[]): MaybePoint[] {
  const present = shape.filter((p): p is C => p !== null);
  const cx = present.reduce((s, p) => s + p[0], 0) / present.length;
  const cy = present.reduce((s, p) => s + p[1], 0) / present.length;
  const rms = Math.sqrt(present.reduce((s, p) => s + (p[0] - cx) ** 2 + (p[1] - cy) ** 2, 0) / present.length) || 1;
  return shape.map((p) => (p === null ? null : [(p[0] - cx) / rms, (p[1] - cy) / rms]));
}

/**
 * Generalised Procrustes mean of skeletons given in a common unit (pixels / the frame's longer
 * side): start from the most complete one, align all to the mean, average, repeat; the mean keeps
 * the first reference's orientation so orientations are measured from a fixed direction.
 */
function procrustesMean(skeletons: readonly MaybePoint[][]): MaybePoint[] {
  const k = skeletons[0]!.length;
  const count = (s: MaybePoint[]) => s.filter((p) => p !== null).length;
  const reference = normalised(skeletons.reduce((best, s) => (count(s) > count(best) ? s : best)));
  let mean = reference;
  for (let iteration = 0; iteration < 10; iteration++) {
    const sum = Array.from({ length: k }, () => [0, 0, 0]);
    for (const s of skeletons) {
      const fit = fitSimilarity(s, mean);
      if (!fit) continue;
      s.forEach((p, j) => {
        if (!p) return;
        const q = applyFit(fit, p);
        sum[j]![0]! += q[0];
        sum[j]![1]! += q[1];
        sum[j]![2]! += 1;
      });
    }
    const averaged = normalised(sum.map(([x, y, n]) => (n! > 0 ? [x! / n!, y! / n!] : null)));
    const toReference = fitSimilarity(averaged, reference);
    mean = toReference ? normalised(averaged.map((p) => (p ? applyFit(toReference, p) : null))) : averaged;
  }
  return mean;
}

const degrees = (radians: number): number => (radians * 180) / Math.PI;
/** Angle in (-180, 180]. */
const wrap = (deg: number): number => {
  const a = (((deg + 180) % 360) + 360) % 360;
  return a === 0 ? 180 : a - 180;
};

/** Middle and half-width of the smallest arc holding every angle (degrees). */
function smallestArc(angles: readonly number[]): { middle: number; halfWidth: number } {
  const sorted = angles.map((a) => (wrap(a) + 360) % 360).sort((a, b) => a - b);
  // the arc is the circle less its largest gap between neighbouring angles
  let gap = 360 - sorted.at(-1)! + sorted[0]!;
  let start = sorted[0]!;
  for (let i = 1; i < sorted.length; i++) {
    const g = sorted[i]! - sorted[i - 1]!;
    if (g > gap) {
      gap = g;
      start = sorted[i]!;
    }
  }
  const halfWidth = (360 - gap) / 2;
  return { middle: wrap(start + halfWidth), halfWidth };
}

/**
 * The geometric augmentation the labels call for, and the spread it came from. Rotation: the
 * half-width of the labeled orientations (relative to the Procrustes mean shape) plus the margin,
 * at most 180. Scale: the labeled scales' spread widened by the margin factor. Shift: the
 * half-range of the labeled positions plus the margin per axis (free-moving animals get about
 * half the frame: anywhere in it, from wherever they were labeled), at most the frame. Flips: on
 * when mirrored skeletons (partners swapped) are poses the labels show: each within the rotation
 * range of a labeled orientation, and fitting the mean shape about as well as the labeled ones
 * (free-moving or symmetric upright objects); off when a mirror turns the object where no label
 * has it, or gives a shape none has (a rig filmed from one side, two views of it in one frame).
 */
export function chooseAugmentation(
  samples: readonly SkeletonSample[],
  flipPairs: readonly (readonly [number, number])[],
): { ranges: GeometricAugmentation; spread: LabeledSpread } {
  if (samples.length === 0) throw new Error('choosing augmentation ranges needs labeled images: none were given');
  const k = samples[0]!.points.length;
  samples.forEach((s, i) => {
    if (s.points.length !== k) throw new Error(`labeled image ${i} has ${s.points.length} points, expected ${k}`);
    if (!(s.width > 0 && s.height > 0)) throw new Error(`labeled image ${i} has no size (${s.width}x${s.height})`);
  });
  // one unit for every image: its longer side, as the letterboxed network input sees it
  const unit = samples.map((s) => Math.max(s.width, s.height));
  const skeletons = samples.map((s, i) =>
    s.points.map((p): MaybePoint => (p ? [p[0] / unit[i]!, p[1] / unit[i]!] : null)),
  );
  const usable = skeletons.filter((s) => s.filter((p) => p !== null).length >= 2);
  if (usable.length === 0)
    throw new Error('choosing augmentation ranges needs a labeled image with 2 or more points: none has');
  const mean = procrustesMean(usable);
  const perm = flipPermutation(k, flipPairs);

  const rotations: number[] = [];
  const logScales: number[] = [];
  const positions: C[] = [];
  const mirrored: number[] = [];
  let labeledResidual = 0;
  let mirroredResidual = 0;
  for (const s of usable) {
    // the fit maps the skeleton onto the mean: the skeleton is turned by -arg(c) and scaled 1/|c|
    const fit = fitSimilarity(s, mean)!;
    labeledResidual += residual(fit, s, mean);
    rotations.push(degrees(-Math.atan2(fit.c[1], fit.c[0])));
    logScales.push(-Math.log(Math.hypot(fit.c[0], fit.c[1])));
    // where the mean shape's centre (the origin) sits in this frame: invert the fit
    const [a, b] = fit.c;
    const n = a * a + b * b;
    const [tx, ty] = fit.targetCentre;
    positions.push([fit.sourceCentre[0] + (-a * tx - b * ty) / n, fit.sourceCentre[1] + (b * tx - a * ty) / n]);
    const mirror = permute(
      s.map((p): MaybePoint => (p ? [-p[0], p[1]] : null)),
      perm,
    );
    const flipped = fitSimilarity(mirror, mean);
    if (!flipped) continue;
    mirrored.push(degrees(-Math.atan2(flipped.c[1], flipped.c[0])));
    mirroredResidual += residual(flipped, mirror, mean);
  }

  const arc = smallestArc(rotations);
  const mirroredRotationDegrees = Math.max(
    0,
    ...mirrored.map((m) => Math.min(...rotations.map((r) => Math.abs(wrap(m - r))))),
  );
  const logMid = (Math.min(...logScales) + Math.max(...logScales)) / 2;
  const halfRange = (values: number[]): number => (Math.max(...values) - Math.min(...values)) / 2;
  const spread: LabeledSpread = {
    skeletons: usable.length,
    rotationDegrees: arc.halfWidth,
    scale: [Math.exp(Math.min(...logScales) - logMid), Math.exp(Math.max(...logScales) - logMid)],
    translate: [halfRange(positions.map((p) => p[0])), halfRange(positions.map((p) => p[1]))],
    mirroredRotationDegrees,
    // both zero: rigid, symmetric skeletons, whose mirror image is the labeled shape
    mirroredShapeMismatch: mirroredResidual === 0 ? 1 : mirroredResidual / labeledResidual,
  };

  const rotationDegrees = Math.min(180, spread.rotationDegrees + AUGMENT_MARGINS.rotationDegrees);
  const scaleHalf = Math.log(spread.scale[1]) + Math.log(AUGMENT_MARGINS.scaleFactor);
  const shift = spread.translate.map((t) => t + AUGMENT_MARGINS.translate) as [number, number];
  // more than the frame's own extent along an axis moves nothing further
  const extent = [
    Math.max(...samples.map((sa, i) => sa.width / unit[i]!)),
    Math.max(...samples.map((sa, i) => sa.height / unit[i]!)),
  ];
  return {
    ranges: {
      rotationDegrees,
      scale: [Math.exp(-scaleHalf), Math.exp(scaleHalf)],
      translate: [Math.min(shift[0], extent[0]!), Math.min(shift[1], extent[1]!)],
      flip: mirroredRotationDegrees <= rotationDegrees && spread.mirroredShapeMismatch <= MIRRORED_SHAPE_TOLERANCE,
    },
    spread,
  };
}

/** One line for people: "rotation +-20 deg, scale 0.87-1.15, shift +-0.31 x 0.06 of the frame, flips off". */
export function describeAugmentation(a: GeometricAugmentation): string {
  const shift =
    a.translate === 'anywhere'
      ? 'shift anywhere'
      : `shift +-${a.translate[0].toFixed(2)} x ${a.translate[1].toFixed(2)} of the frame`;
  return `rotation +-${a.rotationDegrees.toFixed(0)} deg, scale ${a.scale[0].toFixed(2)}-${a.scale[1].toFixed(2)}, ${shift}, flips ${a.flip ? 'on' : 'off'}`;
}
