import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor2D } from '@tensorflow/tfjs';
import { initEngine, tf } from '../engine.js';
import { l2Normalize } from './projectionHead.js';

beforeAll(async () => {
  await initEngine();
});

describe('l2Normalize', () => {
  it('gives unit rows, and the gradient autodiff gives x / |x| written with plain ops', () => {
    const x = tf.tensor2d([
      [3, 4, 0],
      [-1, 2, 0.5],
      [0.1, -0.2, 0.3],
    ]) as Tensor2D;
    const y = l2Normalize(x);
    expect(Array.from(y.dataSync().slice(0, 3))).toEqual([0.6000000238418579, 0.800000011920929, 0]);
    // A fixed projection: the plain sum of unit rows would give zero gradients on both sides.
    const r = tf.tensor2d([
      [0.3, -1.2, 0.7],
      [1.1, 0.4, -0.5],
      [-0.9, 0.2, 1.3],
    ]);
    const grad = (f: (t: Tensor2D) => Tensor2D) =>
      Array.from(
        tf
          .grad((t) => tf.sum(tf.mul(f(t as Tensor2D), r)))(x)
          .dataSync(),
      );
    const ours = grad(l2Normalize);
    const plain = grad((t) => tf.div(t, tf.norm(t, 2, 1, true)) as Tensor2D);
    expect(Math.max(...plain.map(Math.abs))).toBeGreaterThan(0.1);
    ours.forEach((g, i) => expect(g).toBeCloseTo(plain[i]!, 5));
    tf.dispose([x, y, r]);
  });
});
