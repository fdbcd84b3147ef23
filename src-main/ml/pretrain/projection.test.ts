import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scalar, Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import {
  createProjectionState,
  disposeProjectionState,
  equivarianceLoss,
  loadProjectionState,
  projectionStep,
  saveProjectionState,
  warpDistances,
} from './projection.js';
import { resolveProjectionConfig } from './projectionConfig.js';

beforeAll(async () => {
  await initEngine();
});

describe('Eq. 3 (probabilistic equivariance loss)', () => {
  it('matches a hand-computed case', () => {
    // Two locations, orthogonal unit descriptors, tau = 1: p(v | u) = softmax([1, 0]) for u = 0,
    // softmax([0, 1]) for u = 1; each u is 1 cell from the other v, 0 from its own, so its
    // expected distance is 1 / (1 + e), and so is the mean.
    const a = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
    const distance = tf.tensor3d([
      [
        [0, 1],
        [1, 0],
      ],
    ]);
    const weight = tf.tensor2d([[1, 1]]);
    const loss = equivarianceLoss(a, a, distance, weight, 1);
    expect(loss.dataSync()[0]).toBeCloseTo(1 / (1 + Math.E), 6);
    // A location left out (weight 0) does not count; tau = 0.5 doubles the logits.
    const half = equivarianceLoss(a, a, distance, tf.tensor2d([[1, 0]]), 0.5);
    expect(half.dataSync()[0]).toBeCloseTo(1 / (1 + Math.E ** 2), 6);
    tf.dispose([a, distance, weight, loss, half]);
  });

  it('has the gradient finite differences give, through the projection and normalisation', () => {
    const x = tf.randomNormal([1, 6, 5], 0, 1, 'float32', 1) as Tensor3D;
    const y = tf.randomNormal([1, 6, 5], 0, 1, 'float32', 2) as Tensor3D;
    const distance = tf.randomUniform([1, 6, 6], 0, 4, 'float32', 3) as Tensor3D;
    const weight = tf.tensor2d([[1, 1, 0, 1, 1, 1]]);
    const w0 = tf.randomNormal([5, 3], 0, 1, 'float32', 4) as Tensor2D;
    const loss = (w: Tensor): Scalar =>
      tf.tidy(() => {
        const project = (t: Tensor3D): Tensor3D => {
          const p = tf.reshape(tf.matMul(tf.reshape(t, [6, 5]), w as Tensor2D), [1, 6, 3]);
          return tf.div(p, tf.norm(p, 'euclidean', -1, true)) as Tensor3D;
        };
        return equivarianceLoss(project(x), project(y), distance, weight, 0.3);
      });
    const analytic = tf.grad(loss)(w0).arraySync() as number[][];
    const values = w0.arraySync() as number[][];
    const h = 1e-2;
    let worst = 0;
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 3; j++) {
        const at = (delta: number): number => {
          const copy = values.map((r) => [...r]);
          copy[i]![j]! += delta;
          const w = tf.tensor2d(copy);
          const v = loss(w).dataSync()[0]!;
          w.dispose();
          return v;
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - analytic[i]![j]!) / Math.max(1e-3, Math.abs(numeric)));
      }
    expect(worst).toBeLessThan(0.02);
    tf.dispose([x, y, distance, weight, w0]);
  });

  it('knows which warped cells show the image and the chance level', () => {
    // Identity warp on a 2x1 grid, plus a cell that lands outside.
    const field = Float32Array.from([0, 0, 1, 0]);
    const { distance, weight, chance } = warpDistances(field, 1, 2, 1);
    expect([...distance]).toEqual([0, 1, 1, 0]);
    expect([...weight]).toEqual([1, 1]);
    expect(chance).toBeCloseTo(0.5, 6);
    expect([...warpDistances(Float32Array.from([5, 0, 1, 0]), 1, 2, 1).weight]).toEqual([0, 1]);
  });
});

describe('projection training', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'projection-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const config = resolveProjectionConfig(
    { inputSize: 32, dim: 16, batchSize: 2, stages: ['conv2_x', 'conv3_x'], warmupSteps: 0 },
    4,
  );

  it('lowers the loss on one batch, keeps the tensor count flat, and resumes to the same step', async () => {
    const state = createProjectionState({ config, featuresDir: null, imageCount: 4, seed: 7, totalSteps: 20 });
    const images = tf.randomUniform([2, 40, 40, 3], 0, 1, 'float32', 5) as Tensor4D;
    try {
      const first = await projectionStep(state, images);
      const before = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 6; i++) last = await projectionStep(state, images);
      expect(tf.memory().numTensors).toBe(before);
      expect(first.loss).toBeLessThan(first.chanceLoss);
      expect(last.loss).toBeLessThan(first.loss);
      expect(last.step).toBe(6);
      await saveProjectionState(state, path.join(dir, 'ckpt'));
      const resumed = loadProjectionState(path.join(dir, 'ckpt'));
      try {
        expect(resumed.step).toBe(7);
        const a = await projectionStep(state, images);
        const b = await projectionStep(resumed, images);
        expect(b.loss).toBeCloseTo(a.loss, 4);
      } finally {
        disposeProjectionState(resumed);
      }
    } finally {
      images.dispose();
      disposeProjectionState(state);
    }
  });

  it('refuses settings it cannot train with', () => {
    expect(() => resolveProjectionConfig({ stages: ['conv9'] }, 4)).toThrow(/has no stage "conv9"/);
    expect(() => resolveProjectionConfig({ batchSize: 8 }, 4)).toThrow(/at most 4/);
    expect(() => resolveProjectionConfig({ temperature: 0 }, 4)).toThrow(/temperature must be positive/);
  });
});
