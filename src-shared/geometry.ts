// Pure 2-D geometry shared by the image pipeline, augmentation, regressors, metrics and the UI.
//
// Coordinate convention, everywhere in the project: image coordinates are continuous pixels with
// the origin at the top-left CORNER of the top-left pixel; pixel (i, j) covers [i, i+1) x [j, j+1)
// and its centre is (i + 0.5, j + 0.5). Resizing an image by s then maps a point p to s * p
// exactly, which is what makes the transforms below exact. (A heatmap cell at index i of a map
// with stride r therefore sits at (i + 0.5) * r.)
import type { CropBox } from './domain.js';

/** A point (x, y) in pixels. */
export type Point = [number, number];

/** A point that may be missing (absent or unlabeled). */
export type MaybePoint = Point | null;

/**
 * A 2-D affine map as the top two rows of a 3x3 matrix, row-major [a, b, c, d, e, f]:
 * x' = a x + b y + c, y' = d x + e y + f.
 */
export type Affine = readonly [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

export function translation(tx: number, ty: number): Affine {
  return [1, 0, tx, 0, 1, ty];
}

export function scaling(sx: number, sy: number = sx): Affine {
  return [sx, 0, 0, 0, sy, 0];
}

/** Rotation by `radians` about (cx, cy); positive turns clockwise on screen (y points down). */
export function rotation(radians: number, cx = 0, cy = 0): Affine {
  const c = Math.cos(radians);
  const s = Math.sin(radians);
  return [c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy];
}

/** Mirror about the vertical line x = width / 2: x' = width - x (an image of that width onto itself). */
export function horizontalFlip(width: number): Affine {
  return [-1, 0, width, 0, 1, 0];
}

/** The map that applies `steps` in the order given (first step first). */
export function chainAffine(...steps: Affine[]): Affine {
  let m = IDENTITY;
  for (const s of steps) {
    // s after m: S * M
    m = [
      s[0] * m[0] + s[1] * m[3],
      s[0] * m[1] + s[1] * m[4],
      s[0] * m[2] + s[1] * m[5] + s[2],
      s[3] * m[0] + s[4] * m[3],
      s[3] * m[1] + s[4] * m[4],
      s[3] * m[2] + s[4] * m[5] + s[5],
    ];
  }
  return m;
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12)
    throw new Error(`Affine map is not invertible (determinant ${det})`);
  const a = m[4] / det;
  const b = -m[1] / det;
  const d = -m[3] / det;
  const e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

export function applyAffine(m: Affine, p: Point): Point {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

/** Applies `m` to every present point, keeping nulls. */
export function applyAffineToPoints(m: Affine, points: readonly MaybePoint[]): MaybePoint[] {
  return points.map((p) => (p === null ? null : applyAffine(m, p)));
}

export function isInside(p: Point, width: number, height: number): boolean {
  return p[0] >= 0 && p[1] >= 0 && p[0] < width && p[1] < height;
}

/**
 * The permutation a horizontal flip applies to keypoint indices: after flipping, keypoint i is
 * the mirrored position of keypoint perm[i] (left eye <- right eye). `pairs` are index pairs of
 * left/right partners; unpaired keypoints map to themselves.
 */
export function flipPermutation(count: number, pairs: readonly (readonly [number, number])[]): number[] {
  const perm = Array.from({ length: count }, (_, i) => i);
  const seen = new Set<number>();
  for (const [a, b] of pairs) {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= count || b >= count || a === b)
      throw new Error(`Bad flip pair [${a}, ${b}] for ${count} keypoints`);
    if (seen.has(a) || seen.has(b)) throw new Error(`Keypoint in more than one flip pair: [${a}, ${b}]`);
    seen.add(a);
    seen.add(b);
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}

/** Reorders a per-keypoint array by a permutation from flipPermutation: out[i] = values[perm[i]]. */
export function permute<T>(values: readonly T[], perm: readonly number[]): T[] {
  if (values.length !== perm.length)
    throw new Error(`permute: ${values.length} values for a permutation of ${perm.length}`);
  return perm.map((j) => values[j] as T);
}

/** How an image (or a crop of it) is fitted into the square network input. */
export type ResizeMode =
  /** Aspect kept: the longer side becomes `size`, the shorter one is padded (black) on both sides. */
  | 'letterbox'
  /** Aspect not kept: both sides become `size` (aligned crops, as in the papers). */
  | 'stretch';

export const RESIZE_MODES: readonly ResizeMode[] = ['letterbox', 'stretch'];

/**
 * Maps points between original image pixels (EXIF-rotated file) and network input pixels:
 * input = (original - region.xy) * scale + pad, per axis. Exact both ways.
 */
export interface InputTransform {
  mode: ResizeMode;
  /** Network input size (square, `size` x `size`). */
  width: number;
  height: number;
  /** Region of the original image shown in the input: the crop box, or the whole image. */
  region: CropBox;
  /** Input pixels per original pixel along x and y. */
  scaleX: number;
  scaleY: number;
  /** Left and top padding in input pixels (whole pixels; right/bottom padding may differ by one). */
  padX: number;
  padY: number;
  /** Size of the image content inside the input, whole pixels (padding excluded). */
  contentWidth: number;
  contentHeight: number;
}

export interface InputTransformSpec {
  /** Size of the original (EXIF-rotated) image. */
  imageWidth: number;
  imageHeight: number;
  /** Side of the square network input, pixels. */
  size: number;
  mode: ResizeMode;
  /** Optional region in original pixels; may extend past the image (the outside is black). */
  crop?: CropBox | null;
}

export function makeInputTransform(spec: InputTransformSpec): InputTransform {
  const { imageWidth, imageHeight, size, mode } = spec;
  if (!(imageWidth > 0 && imageHeight > 0) || !Number.isFinite(imageWidth) || !Number.isFinite(imageHeight))
    throw new Error(`Bad image size ${imageWidth}x${imageHeight}`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`Input size must be a positive integer, got ${size}`);
  const region = spec.crop ?? { x: 0, y: 0, w: imageWidth, h: imageHeight };
  if (![region.x, region.y, region.w, region.h].every(Number.isFinite) || region.w <= 0 || region.h <= 0)
    throw new Error(`Bad crop box ${JSON.stringify(region)}: width and height must be positive`);
  let contentWidth = size;
  let contentHeight = size;
  if (mode === 'letterbox') {
    // Whole-pixel content so the padding is whole pixels too; each axis gets its own exact scale.
    const s = size / Math.max(region.w, region.h);
    contentWidth = Math.min(size, Math.max(1, Math.round(region.w * s)));
    contentHeight = Math.min(size, Math.max(1, Math.round(region.h * s)));
  } else if (mode !== 'stretch') {
    throw new Error(`Unknown resize mode "${String(mode)}" (expected ${RESIZE_MODES.join(' or ')})`);
  }
  return {
    mode,
    width: size,
    height: size,
    region: { ...region },
    scaleX: contentWidth / region.w,
    scaleY: contentHeight / region.h,
    padX: Math.floor((size - contentWidth) / 2),
    padY: Math.floor((size - contentHeight) / 2),
    contentWidth,
    contentHeight,
  };
}

/** The affine map from original image pixels to network input pixels. */
export function inputTransformAffine(t: InputTransform): Affine {
  return [t.scaleX, 0, t.padX - t.region.x * t.scaleX, 0, t.scaleY, t.padY - t.region.y * t.scaleY];
}

export function toInputPoint(t: InputTransform, p: Point): Point {
  return [(p[0] - t.region.x) * t.scaleX + t.padX, (p[1] - t.region.y) * t.scaleY + t.padY];
}

export function toOriginalPoint(t: InputTransform, p: Point): Point {
  return [(p[0] - t.padX) / t.scaleX + t.region.x, (p[1] - t.padY) / t.scaleY + t.region.y];
}

/** The original-pixel rectangle the whole network input spans (padding included): where an input-grid map lies on the image. */
export function inputBounds(t: InputTransform): CropBox {
  const [x0, y0] = toOriginalPoint(t, [0, 0]);
  const [x1, y1] = toOriginalPoint(t, [t.width, t.height]);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * Keeps a point inside a region (a crop box or the whole image), so that a prediction whose peak
 * fell in the letterbox padding still names a place on the image a person could accept.
 */
export function clampToRegion(region: CropBox, p: Point): Point {
  return [
    Math.min(Math.max(p[0], region.x), region.x + region.w),
    Math.min(Math.max(p[1], region.y), region.y + region.h),
  ];
}

export function toInputPoints(t: InputTransform, points: readonly MaybePoint[]): MaybePoint[] {
  return points.map((p) => (p === null ? null : toInputPoint(t, p)));
}

export function toOriginalPoints(t: InputTransform, points: readonly MaybePoint[]): MaybePoint[] {
  return points.map((p) => (p === null ? null : toOriginalPoint(t, p)));
}
