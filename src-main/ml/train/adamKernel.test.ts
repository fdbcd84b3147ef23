import { describe, expect, it } from 'vitest';
import { compileWat, wasmModuleSource } from '../../../scripts/build-wasm.mjs';
import { AdamKernel } from './adamKernel.js';
import { WASM_BASE64 } from './adamKernel.wasm.js';
import fs from 'node:fs';
import path from 'node:path';

const CONFIG = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Algorithm 1 of Kingma & Ba in double precision, decay added to the gradient as PyTorch does. */
function referenceStep(w: number[], g: number[], m: number[], v: number[], t: number, lr: number, decay: number) {
  for (let j = 0; j < w.length; j++) {
    const gj = g[j]! + decay * w[j]!;
    m[j] = CONFIG.beta1 * m[j]! + (1 - CONFIG.beta1) * gj;
    v[j] = CONFIG.beta2 * v[j]! + (1 - CONFIG.beta2) * gj * gj;
    const mHat = m[j]! / (1 - CONFIG.beta1 ** t);
    const vHat = v[j]! / (1 - CONFIG.beta2 ** t);
    w[j] = w[j]! - (lr * mHat) / (Math.sqrt(vHat) + CONFIG.epsilon);
  }
}

describe('AdamKernel', () => {
  it('is the compiled adamKernel.wat (run `npm run build:wasm` after editing it)', async () => {
    const rel = 'src-main/ml/train/adamKernel.wat';
    const bytes = await compileWat(rel);
    expect(Buffer.from(WASM_BASE64, 'base64').equals(bytes)).toBe(true);
    const generated = fs.readFileSync(path.join(import.meta.dirname, 'adamKernel.wasm.ts'), 'utf8');
    expect(generated).toBe(wasmModuleSource(rel, bytes));
  });

  it('follows Adam in double precision to float32 rounding, in the SIMD body and the tail alike', () => {
    // Lengths around the four-wide body: all tail, body + each tail length, and a long one.
    for (const n of [1, 3, 4, 5, 6, 7, 8, 1001]) {
      const kernel = new AdamKernel(4 * 1004);
      const [W, G, M, V] = [0, 1004, 2008, 3012];
      const w = Array.from({ length: n }, (_, j) => Math.sin(j + 1));
      const m = new Array<number>(n).fill(0);
      const v = new Array<number>(n).fill(0);
      kernel.heap.set(w, W);
      for (let t = 1; t <= 5; t++) {
        // Gradients of both signs and magnitudes 1e-4..1, a different set every step.
        const g = Array.from({ length: n }, (_, j) => Math.cos(3 * j + t) * 10 ** -(j % 5));
        kernel.heap.set(g, G);
        const lr = 0.01 / t;
        kernel.step(
          { w: W, g: G, m: M, v: V, n },
          lr / (1 - CONFIG.beta1 ** t),
          1 / (1 - CONFIG.beta2 ** t),
          0.05,
          CONFIG,
        );
        referenceStep(w, g, m, v, t, lr, 0.05);
      }
      for (let j = 0; j < n; j++) {
        expect(Math.abs(kernel.heap[W + j]! - w[j]!)).toBeLessThan(1e-6);
        expect(Math.abs(kernel.heap[M + j]! - m[j]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(m[j]!)));
        expect(Math.abs(kernel.heap[V + j]! - v[j]!)).toBeLessThan(1e-6 * Math.max(1e-3, v[j]!));
      }
      // Nothing past the n weights is written.
      expect(kernel.heap[W + n]).toBe(0);
      expect(kernel.heap[M + n]).toBe(0);
    }
  });

  it('refuses places outside its memory or off the four-float grid', () => {
    const kernel = new AdamKernel(64);
    const place = { w: 0, g: 16, m: 32, v: 48, n: 16 };
    expect(() => kernel.step({ ...place, v: 50 }, 1, 1, 0, CONFIG)).toThrow(/not an aligned place/);
    expect(() => kernel.step({ ...place, v: kernel.heap.length - 8 }, 1, 1, 0, CONFIG)).toThrow(/not an aligned place/);
    kernel.step(place, 1, 1, 0, CONFIG);
  });

  it('says when the weights need more than 4 GiB of state, before taking any memory', () => {
    expect(() => new AdamKernel(2 ** 30 + 4)).toThrow(/needs 4\.0 GiB, more than WebAssembly's 4 GiB/);
  });
});
