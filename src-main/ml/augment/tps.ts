// Random thin-plate-spline warps of image batches and their keypoints (paper 004 Sec. 4.1 and
// supplement Sec. 2; DVE's warper, whose deformation settings paper 000 reuses for few-shot
// regression). A warp is a sampling map g from augmented-image coordinates to source coordinates,
// both normalised to [-1, 1] over the image:
//   g(u) = t + A u + sum_i w_i U(|u - c_i|^2),   U(d) = d log d   (Bookstein's r^2 log r^2),
// with control points c_i on a regular grid, TPS weights w_i ~ N(0, sdAll^2) plus, for each
// element with probability 1/2, an extra N(0, sdSubset^2), and A, t a random similarity.
// The warped image samples the source at g(u) (dense grid + bilinear sampling); a keypoint p moves
// to g^-1(p), found by Newton's method, so a feature at p lands at the returned point.
import type { Tensor4D } from '@tensorflow/tfjs';
import type { MaybePoint, Point } from '../../../src-shared/geometry.js';
import type { Rng } from '../../../src-shared/random.js';
import { tf } from '../engine.js';
import { bilinearSample } from './bilinearSample.js';

export interface TpsConfig {
  /** Control points per side of the regular grid (paper 004: 10 x 10). */
  gridSize: number;
  /** sigma_{g,w}: standard deviation of every TPS weight. */
  sdAll: number;
  /** sigma_{g,W}: extra standard deviation added to each weight with probability 1/2. */
  sdSubset: number;
  /** sigma_{g,r}: rotation standard deviation, degrees. */
  rotationSdDeg: number;
  /** sigma_{g,t}: translation standard deviation, normalised units (image side = 2). */
  translationSd: number;
  /** sigma_{g,s}: scale standard deviation around 1. */
  scaleSd: number;
}

/**
 * DVE's Warper (paper 000 reuses its deformation settings for few-shot regression): defaults
 * warpsd_all 0.001, warpsd_subset 0.01, rotsd 5 deg, transsd 0.1, scalesd 0.1, every one scaled
 * by its im1_multiplier 0.5 before sampling. (DVE replaces, rather than adds to, the subset's
 * weights; the standard deviations differ by 0.5%.) These warps never fold.
 */
export const DEFAULT_TPS: TpsConfig = {
  gridSize: 10,
  sdAll: 0.0005,
  sdSubset: 0.005,
  rotationSdDeg: 2.5,
  translationSd: 0.05,
  scaleSd: 0.05,
};

/**
 * Paper 004 supplement Table 1, faces, g2 (g1 is the same with no similarity part). About 2% of
 * points land where such a warp folds over itself; tpsPoints returns null for them.
 */
export const PAPER004_FACES_G2: TpsConfig = {
  gridSize: 10,
  sdAll: 0.001,
  sdSubset: 0.01,
  rotationSdDeg: 20,
  translationSd: 0.1,
  scaleSd: 0.05,
};

/** One sampled warp (normalised coordinates; see the file comment). */
export interface TpsWarp {
  /** Control points, [x0, y0, x1, y1, ...]. */
  controls: Float64Array;
  /** TPS weights, [wx0, wy0, wx1, wy1, ...]. */
  weights: Float64Array;
  /** Similarity part: g(u) = [a00 a01; a10 a11] u + [tx, ty] + sum ... */
  affine: readonly [number, number, number, number];
  translation: readonly [number, number];
}

function gridControls(n: number): Float64Array {
  const c = new Float64Array(n * n * 2);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      c[(i * n + j) * 2] = n === 1 ? 0 : -1 + (2 * j) / (n - 1);
      c[(i * n + j) * 2 + 1] = n === 1 ? 0 : -1 + (2 * i) / (n - 1);
    }
  return c;
}

export function sampleTps(rng: Rng, config: TpsConfig): TpsWarp {
  if (!Number.isInteger(config.gridSize) || config.gridSize < 1)
    throw new Error(`TPS gridSize must be a positive integer`);
  const controls = gridControls(config.gridSize);
  const weights = new Float64Array(controls.length);
  for (let i = 0; i < weights.length; i++) {
    weights[i] = rng.normal(0, config.sdAll) + (rng.chance(0.5) ? rng.normal(0, config.sdSubset) : 0);
  }
  const angle = (rng.normal(0, config.rotationSdDeg) * Math.PI) / 180;
  const s = 1 + rng.normal(0, config.scaleSd);
  const c = Math.cos(angle) * s;
  const si = Math.sin(angle) * s;
  return {
    controls,
    weights,
    affine: [c, -si, si, c],
    translation: [rng.normal(0, config.translationSd), rng.normal(0, config.translationSd)],
  };
}

/** g(u): augmented -> source, normalised coordinates. */
export function tpsMap(warp: TpsWarp, x: number, y: number): Point {
  const [a, b, c, d] = warp.affine;
  let gx = a * x + b * y + warp.translation[0];
  let gy = c * x + d * y + warp.translation[1];
  const { controls, weights } = warp;
  for (let i = 0; i < controls.length; i += 2) {
    const dx = x - controls[i]!;
    const dy = y - controls[i + 1]!;
    const r2 = dx * dx + dy * dy;
    if (r2 > 0) {
      const u = r2 * Math.log(r2);
      gx += weights[i]! * u;
      gy += weights[i + 1]! * u;
    }
  }
  return [gx, gy];
}

/** g and its Jacobian at (x, y): [gx, gy, dgx/dx, dgx/dy, dgy/dx, dgy/dy]. */
function tpsMapJacobian(warp: TpsWarp, x: number, y: number): number[] {
  const [a, b, c, d] = warp.affine;
  let gx = a * x + b * y + warp.translation[0];
  let gy = c * x + d * y + warp.translation[1];
  let jxx = a;
  let jxy = b;
  let jyx = c;
  let jyy = d;
  const { controls, weights } = warp;
  for (let i = 0; i < controls.length; i += 2) {
    const dx = x - controls[i]!;
    const dy = y - controls[i + 1]!;
    const r2 = dx * dx + dy * dy;
    if (r2 > 0) {
      const l = Math.log(r2);
      const u = r2 * l;
      const du = 2 * (l + 1); // dU/dx = du * dx, dU/dy = du * dy
      const wx = weights[i]!;
      const wy = weights[i + 1]!;
      gx += wx * u;
      gy += wy * u;
      jxx += wx * du * dx;
      jxy += wx * du * dy;
      jyx += wy * du * dx;
      jyy += wy * du * dy;
    }
  }
  return [gx, gy, jxx, jxy, jyx, jyy];
}

/** Damped Newton iterations for g(u) = p from (x, y); the solution and its residual. */
function newton(warp: TpsWarp, px: number, py: number, x: number, y: number): [number, number, number] {
  let [gx, gy, jxx, jxy, jyx, jyy] = tpsMapJacobian(warp, x, y) as [number, number, number, number, number, number];
  let err = Math.hypot(gx - px, gy - py);
  for (let iter = 0; iter < 50 && err > 1e-10; iter++) {
    const jdet = jxx * jyy - jxy * jyx;
    if (!Number.isFinite(jdet) || Math.abs(jdet) < 1e-12) break;
    const sx = (jyy * (gx - px) - jxy * (gy - py)) / jdet;
    const sy = (-jyx * (gx - px) + jxx * (gy - py)) / jdet;
    let step = 1;
    for (; step > 1e-4; step /= 2) {
      const next = tpsMapJacobian(warp, x - step * sx, y - step * sy) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const nextErr = Math.hypot(next[0] - px, next[1] - py);
      if (nextErr < err) {
        x -= step * sx;
        y -= step * sy;
        [gx, gy, jxx, jxy, jyx, jyy] = next;
        err = nextErr;
        break;
      }
    }
    if (step <= 1e-4) break;
  }
  return [x, y, err];
}

/**
 * g^-1(p): Newton's method from the inverse of the similarity part, then, if that stalls, from
 * the best node of a coarse grid over the image (DVE looks points up in the dense grid the same
 * way). Null when neither converges: the warp folds over itself there.
 */
export function tpsInverse(warp: TpsWarp, px: number, py: number): Point | null {
  const [a, b, c, d] = warp.affine;
  const det = a * d - b * c;
  const x0 = (d * (px - warp.translation[0]) - b * (py - warp.translation[1])) / det;
  const y0 = (-c * (px - warp.translation[0]) + a * (py - warp.translation[1])) / det;
  let [x, y, err] = newton(warp, px, py, x0, y0);
  if (err >= 1e-6) {
    let best = Infinity;
    const n = 24;
    for (let i = 0; i <= n; i++)
      for (let j = 0; j <= n; j++) {
        const u = -1.2 + (2.4 * j) / n;
        const v = -1.2 + (2.4 * i) / n;
        const g = tpsMap(warp, u, v);
        const e = Math.hypot(g[0] - px, g[1] - py);
        if (e < best) {
          best = e;
          [x, y] = [u, v];
        }
      }
    [x, y, err] = newton(warp, px, py, x, y);
  }
  return err < 1e-6 ? [x, y] : null;
}

/**
 * Where each keypoint of a width x height image moves under the warp (pixels in, pixels out).
 * Points whose inverse does not converge come back null.
 */
export function tpsPoints(warp: TpsWarp, points: readonly MaybePoint[], width: number, height: number): MaybePoint[] {
  return points.map((p) => {
    if (p === null) return null;
    const q = tpsInverse(warp, (2 * p[0]) / width - 1, (2 * p[1]) / height - 1);
    return q === null ? null : [((q[0] + 1) * width) / 2, ((q[1] + 1) * height) / 2];
  });
}

/**
 * For every pixel centre (x, y) of a width x height image, in normalised coordinates: the row
 * [U(|u - c_1|^2), ..., U(|u - c_n|^2), x, y, 1] of the TPS design matrix, [width * height, n + 3].
 * Cached: every batch of a run shares its size and control grid.
 */
const basisCache = new Map<string, Float32Array>();
const BASIS_CACHE_ENTRIES = 4;

function pixelBasis(width: number, height: number, controls: Float64Array): Float32Array {
  const key = `${width}x${height}:${Array.from(controls).join(',')}`;
  let basis = basisCache.get(key);
  if (basis) return basis;
  const n = controls.length / 2;
  const columns = n + 3;
  basis = new Float32Array(width * height * columns);
  for (let i = 0; i < height; i++) {
    const y = (2 * (i + 0.5)) / height - 1;
    for (let j = 0; j < width; j++) {
      const x = (2 * (j + 0.5)) / width - 1;
      const row = (i * width + j) * columns;
      for (let k = 0; k < n; k++) {
        const dx = x - controls[2 * k]!;
        const dy = y - controls[2 * k + 1]!;
        const r2 = dx * dx + dy * dy;
        basis[row + k] = r2 > 0 ? r2 * Math.log(r2) : 0;
      }
      basis[row + n] = x;
      basis[row + n + 1] = y;
      basis[row + n + 2] = 1;
    }
  }
  if (basisCache.size >= BASIS_CACHE_ENTRIES) basisCache.delete(basisCache.keys().next().value!);
  basisCache.set(key, basis);
  return basis;
}

/**
 * Source pixel INDEX coordinates (x, y) sampled by every pixel of each warped width x height
 * image, [B, height, width, 2] flattened: the dense grid bilinearSample takes, and the dense
 * correspondence field (warped pixel -> source location) equivariance losses need. The whole map
 * g, TPS sums, similarity part and the change to pixel indices (x_px = (g_x + 1) w / 2 - 0.5),
 * is one matrix product of the cached design matrix with every warp's coefficients on the tf
 * backend. All warps must share one control grid.
 */
export function tpsSamplingGrid(warps: readonly TpsWarp[], width: number, height: number): Float32Array {
  const first = warps[0];
  if (!first) return new Float32Array(0);
  const n = first.controls.length / 2;
  if (
    warps.some((w) => w.controls.length !== first.controls.length || w.controls.some((v, i) => v !== first.controls[i]))
  )
    throw new Error('tpsSamplingGrid: all warps of a batch must use the same control grid');
  const batch = warps.length;
  // Coefficients [n + 3, 2B]: column 2b gives x of warp b, column 2b + 1 its y, in pixels.
  const coefficients = new Float32Array((n + 3) * 2 * batch);
  const sx = width / 2;
  const sy = height / 2;
  warps.forEach((warp, b) => {
    const put = (row: number, vx: number, vy: number): void => {
      coefficients[row * 2 * batch + 2 * b] = vx;
      coefficients[row * 2 * batch + 2 * b + 1] = vy;
    };
    for (let k = 0; k < n; k++) put(k, warp.weights[2 * k]! * sx, warp.weights[2 * k + 1]! * sy);
    const [a, bb, c, d] = warp.affine;
    put(n, a * sx, c * sy);
    put(n + 1, bb * sx, d * sy);
    put(n + 2, (warp.translation[0] + 1) * sx - 0.5, (warp.translation[1] + 1) * sy - 0.5);
  });
  const basis = pixelBasis(width, height, first.controls);
  const grid = tf.tidy(() => {
    const product = tf.matMul(
      tf.tensor2d(basis, [width * height, n + 3]),
      tf.tensor2d(coefficients, [n + 3, 2 * batch]),
    );
    return tf.transpose(tf.reshape(product, [width * height, batch, 2]), [1, 0, 2]);
  });
  const values = grid.dataSync() as Float32Array; // read outside tidy: it would walk a returned array element by element
  grid.dispose();
  return values;
}

/** Warps image b by warps[b] (bilinear, black outside). */
export function warpTps(images: Tensor4D, warps: readonly TpsWarp[]): Tensor4D {
  const [b, h, w] = images.shape;
  if (warps.length !== b) throw new Error(`warpTps: ${warps.length} warps for a batch of ${b}`);
  return bilinearSample(images, tpsSamplingGrid(warps, w, h), h, w);
}

export interface TpsAugmentResult {
  /** The warped batch (the caller disposes it; the input is not disposed). */
  images: Tensor4D;
  /** Each row's points in warped pixels (null where absent, or where the warp folds). */
  points: MaybePoint[][];
  warps: TpsWarp[];
}

/** Warps a batch with one random TPS per image and moves its keypoints with it. */
export function randomTps(
  images: Tensor4D,
  points: readonly (readonly MaybePoint[])[],
  rng: Rng,
  config: TpsConfig,
): TpsAugmentResult {
  const [b, h, w] = images.shape;
  if (points.length !== b) throw new Error(`randomTps: ${points.length} point lists for a batch of ${b}`);
  const warps = points.map(() => sampleTps(rng, config));
  return {
    images: warpTps(images, warps),
    points: warps.map((warp, i) => tpsPoints(warp, points[i]!, w, h)),
    warps,
  };
}
