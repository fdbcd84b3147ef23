// Renders the network input from a decoded image and an InputTransform: crop, resize and
// letterbox padding in one pass, honouring the transform exactly (pixel centres at +0.5, so an
// original point p lands at toInputPoint(t, p) in the rendered pixels).
//
// Separable triangle filter whose support widens by the reduction factor when shrinking (the
// antialiased "bilinear" of PIL): no aliasing on large reductions, plain bilinear when enlarging.
// Output pixels whose centre maps outside the image are black (crop boxes may overhang the image);
// near the image border the filter is renormalised over the pixels that exist.
import type { InputTransform } from '../../../src-shared/geometry.js';
import type { RgbImage } from './decode.js';

interface Taps {
  /** First input index of each output pixel's taps, or -1 for a black (outside) pixel. */
  start: Int32Array;
  count: Int32Array;
  /** Weights, `maxTaps` per output pixel, already normalised. */
  weights: Float32Array;
  maxTaps: number;
}

/** Filter taps along one axis: output content pixel j samples input around offset + (j + 0.5) / scale. */
function axisTaps(outCount: number, inCount: number, offset: number, scale: number): Taps {
  const support = Math.max(1, 1 / scale);
  const maxTaps = Math.ceil(2 * support) + 2;
  const start = new Int32Array(outCount);
  const count = new Int32Array(outCount);
  const weights = new Float32Array(outCount * maxTaps);
  for (let j = 0; j < outCount; j++) {
    const u = offset + (j + 0.5) / scale;
    if (u < 0 || u >= inCount) {
      start[j] = -1;
      continue;
    }
    const first = Math.max(0, Math.ceil(u - support - 0.5));
    const last = Math.min(inCount - 1, Math.floor(u + support - 0.5));
    let total = 0;
    const n = Math.min(maxTaps, last - first + 1);
    for (let k = 0; k < n; k++) {
      const w = Math.max(0, 1 - Math.abs(first + k + 0.5 - u) / support);
      weights[j * maxTaps + k] = w;
      total += w;
    }
    if (total <= 0) {
      // u sits exactly between pixel centres at a border: take the nearest pixel
      weights[j * maxTaps] = 1;
      total = 1;
    }
    for (let k = 0; k < n; k++) weights[j * maxTaps + k]! /= total;
    start[j] = first;
    count[j] = n;
  }
  return { start, count, weights, maxTaps };
}

/** The `t.width` x `t.height` RGB input (HWC, 8-bit) for `image` under transform `t`. */
export function renderInput(image: RgbImage, t: InputTransform): Uint8Array {
  const out = new Uint8Array(t.width * t.height * 3);
  const cw = t.contentWidth;
  const ch = t.contentHeight;
  const xs = axisTaps(cw, image.width, t.region.x, t.scaleX);
  const ys = axisTaps(ch, image.height, t.region.y, t.scaleY);

  // Horizontal pass on only the rows the vertical taps read.
  let rowLo = image.height;
  let rowHi = -1;
  for (let j = 0; j < ch; j++) {
    if (ys.start[j]! < 0) continue;
    rowLo = Math.min(rowLo, ys.start[j]!);
    rowHi = Math.max(rowHi, ys.start[j]! + ys.count[j]! - 1);
  }
  if (rowHi < rowLo) return out;
  const rows = rowHi - rowLo + 1;
  const mid = new Float32Array(rows * cw * 3);
  const src = image.data;
  for (let r = 0; r < rows; r++) {
    const rowBase = (rowLo + r) * image.width * 3;
    for (let j = 0; j < cw; j++) {
      const s = xs.start[j]!;
      if (s < 0) continue;
      let r0 = 0;
      let g0 = 0;
      let b0 = 0;
      const wBase = j * xs.maxTaps;
      for (let k = 0, n = xs.count[j]!; k < n; k++) {
        const w = xs.weights[wBase + k]!;
        const p = rowBase + (s + k) * 3;
        r0 += w * src[p]!;
        g0 += w * src[p + 1]!;
        b0 += w * src[p + 2]!;
      }
      const m = (r * cw + j) * 3;
      mid[m] = r0;
      mid[m + 1] = g0;
      mid[m + 2] = b0;
    }
  }

  for (let i = 0; i < ch; i++) {
    const s = ys.start[i]!;
    if (s < 0) continue;
    const outRow = ((t.padY + i) * t.width + t.padX) * 3;
    const wBase = i * ys.maxTaps;
    for (let j = 0; j < cw; j++) {
      if (xs.start[j]! < 0) continue;
      let r0 = 0;
      let g0 = 0;
      let b0 = 0;
      for (let k = 0, n = ys.count[i]!; k < n; k++) {
        const w = ys.weights[wBase + k]!;
        const m = ((s - rowLo + k) * cw + j) * 3;
        r0 += w * mid[m]!;
        g0 += w * mid[m + 1]!;
        b0 += w * mid[m + 2]!;
      }
      const o = outRow + j * 3;
      // Uint8Array assignment truncates and wraps: round and clamp explicitly.
      out[o] = Math.min(255, Math.max(0, Math.round(r0)));
      out[o + 1] = Math.min(255, Math.max(0, Math.round(g0)));
      out[o + 2] = Math.min(255, Math.max(0, Math.round(b0)));
    }
  }
  return out;
}

/** The `t.width` x `t.height` input for an image already at the transform's content size: padding only. */
export function padInput(image: RgbImage, t: InputTransform): Uint8Array {
  if (image.width !== t.contentWidth || image.height !== t.contentHeight)
    throw new Error(`padInput needs a ${t.contentWidth}x${t.contentHeight} image, got ${image.width}x${image.height}`);
  const out = new Uint8Array(t.width * t.height * 3);
  const row = t.contentWidth * 3;
  for (let y = 0; y < t.contentHeight; y++)
    out.set(image.data.subarray(y * row, (y + 1) * row), ((t.padY + y) * t.width + t.padX) * 3);
  return out;
}
