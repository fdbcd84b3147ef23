// Closed-form ridge regression from discovered-landmark coordinates to annotated landmarks.
// Paper 004 (experiments, "learn a linear regressor"): stack the 2K unsupervised coordinates in
// x and learn y = Wx, a linear map without bias. Paper 003 (appendix, training details): the same
// map fitted as ridge regression with alpha = 0.1. Both are small (2K <= a few hundred inputs), so the normal equations are solved
// exactly in float64 by Cholesky instead of by gradient descent.

export interface RidgeConfig {
  /** L2 penalty on W. Paper 003: alpha = 0.1. */
  alpha: number;
  /** Learn a (non-penalised) bias too. Papers 003/004 use none: y = Wx. */
  fitIntercept: boolean;
}

export const RIDGE_DEFAULTS: RidgeConfig = { alpha: 0.1, fitIntercept: false };

export interface RidgeModel {
  /** One weight row per target column (length = input dimension). */
  weights: Float64Array[];
  /** One bias per target column (zeros unless fitIntercept). */
  bias: Float64Array;
  inputDim: number;
}

/**
 * Fits y ~ W x + b per target column. `y[n][t] === null` marks an unlabeled target (an absent or
 * occluded point): that row is left out of column t's fit only.
 */
export function fitRidge(x: number[][], y: (number | null)[][], config: RidgeConfig = RIDGE_DEFAULTS): RidgeModel {
  if (x.length === 0) throw new Error('ridge regression needs at least one labeled example; got none');
  if (y.length !== x.length) throw new Error(`ridge regression: ${x.length} inputs but ${y.length} target rows`);
  if (!(config.alpha >= 0)) throw new Error(`ridge regression: alpha must be >= 0, got ${config.alpha}`);
  const inputDim = x[0]!.length;
  const targets = y[0]!.length;
  x.forEach((row, n) => {
    if (row.length !== inputDim)
      throw new Error(`ridge regression: input row ${n} has ${row.length} values, expected ${inputDim}`);
    if (!row.every(Number.isFinite)) throw new Error(`ridge regression: input row ${n} has a non-finite value`);
  });
  const weights: Float64Array[] = [];
  const bias = new Float64Array(targets);
  for (let t = 0; t < targets; t++) {
    const rows = x.map((_, n) => n).filter((n) => y[n]![t] !== null && y[n]![t] !== undefined);
    if (rows.length === 0) throw new Error(`ridge regression: target column ${t} has no labeled example`);
    const fit = fitColumn(
      rows.map((n) => x[n]!),
      rows.map((n) => y[n]![t] as number),
      config,
    );
    weights.push(fit.w);
    bias[t] = fit.b;
  }
  return { weights, bias, inputDim };
}

export function predictRidge(model: RidgeModel, x: number[][]): number[][] {
  return x.map((row, n) => {
    if (row.length !== model.inputDim) {
      throw new Error(`ridge prediction: input row ${n} has ${row.length} values, expected ${model.inputDim}`);
    }
    return model.weights.map((w, t) => dot(w, row) + model.bias[t]!);
  });
}

function fitColumn(x: number[][], y: number[], config: RidgeConfig): { w: Float64Array; b: number } {
  const d = x[0]!.length;
  // With an intercept, centring both sides leaves the bias out of the penalty.
  const xMean = new Float64Array(d);
  let yMean = 0;
  if (config.fitIntercept) {
    for (const row of x) for (let j = 0; j < d; j++) xMean[j]! += row[j]! / x.length;
    yMean = y.reduce((s, v) => s + v, 0) / y.length;
  }
  // Normal equations: (X^T X + alpha I) w = X^T y.
  const gram = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  x.forEach((row, n) => {
    const yn = y[n]! - yMean;
    for (let i = 0; i < d; i++) {
      const xi = row[i]! - xMean[i]!;
      rhs[i]! += xi * yn;
      for (let j = 0; j <= i; j++) gram[i * d + j]! += xi * (row[j]! - xMean[j]!);
    }
  });
  // A tiny floor keeps alpha = 0 solvable when X^T X is singular (fewer examples than inputs).
  const ridge = Math.max(config.alpha, 1e-10);
  for (let i = 0; i < d; i++) gram[i * d + i]! += ridge;
  const w = choleskySolve(gram, rhs, d);
  return { w, b: yMean - dot(w, Array.from(xMean)) };
}

/** Solves A w = b for symmetric positive definite A (lower triangle filled), in place. */
function choleskySolve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let j = 0; j < d; j++) {
    let diag = a[j * d + j]!;
    for (let k = 0; k < j; k++) diag -= a[j * d + k]! ** 2;
    if (!(diag > 0)) throw new Error('ridge regression: the normal equations are not positive definite (raise alpha)');
    const l = Math.sqrt(diag);
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= a[i * d + k]! * a[j * d + k]!;
      a[i * d + j] = s / l;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * d + k]! * z[k]!;
    z[i] = s / a[i * d + i]!;
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < d; k++) s -= a[k * d + i]! * w[k]!;
    w[i] = s / a[i * d + i]!;
  }
  return w;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
