import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { chanceLevelLoss, infoNceFromLogits, infoNceLogits, infoNceLoss } from './infoNce.js';

beforeAll(async () => {
  await initEngine();
});

const value = (t: Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('InfoNCE', () => {
  it('matches a hand-computed loss at temperature 1', () => {
    // q = k = [1, 0]; negatives [0, 1] and [-1, 0]: logits [1, 0, -1].
    // L = ln(e^1 + e^0 + e^-1) - 1 = ln(4.0861612696) - 1 = 0.4076059644
    const q = tf.tensor2d([[1, 0]]);
    const negatives = tf.tensor2d([
      [0, 1],
      [-1, 0],
    ]);
    expect(value(infoNceLoss(q, q, negatives, 1))).toBeCloseTo(0.4076059644, 6);
    tf.dispose([q, negatives]);
  });

  it('matches hand-computed logits and loss for a batch of two at temperature 0.5', () => {
    const queries = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const keys = tf.tensor2d([
      [0.6, 0.8],
      [0, 1],
    ]);
    const negatives = tf.tensor2d([
      [1, 0],
      [0, 1],
      [0.6, -0.8],
    ]);
    const logits = infoNceLogits(queries, keys, negatives, 0.5);
    // row 1: [q1.k1, q1.n1, q1.n2, q1.n3] / 0.5 = [0.6, 1, 0, 0.6] / 0.5
    // row 2: [1, 0, 1, -0.8] / 0.5
    const expected = [
      [1.2, 2, 0, 1.2],
      [2, 0, 2, -1.6],
    ];
    const got = logits.arraySync();
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 6)));
    // L1 = ln(e^1.2 + e^2 + e^0 + e^1.2) - 1.2 = 1.5100009601
    // L2 = ln(e^2 + e^0 + e^2 + e^-1.6) - 2 = 0.7713384858; mean 1.1406697229
    expect(value(infoNceFromLogits(logits))).toBeCloseTo(1.1406697229, 6);
    tf.dispose([queries, keys, negatives, logits]);
  });

  it('equals the chance level ln(K + 1) when the positive is indistinguishable', () => {
    const logits = tf.zeros([3, 4]) as Tensor2D;
    expect(value(infoNceFromLogits(logits))).toBeCloseTo(Math.log(4), 6);
    expect(chanceLevelLoss(3)).toBeCloseTo(1.3862943611, 9);
    logits.dispose();
  });

  it('has the cross-entropy gradient (softmax - one-hot) / B with respect to the logits', () => {
    const rows = [
      [1.2, 2, 0, 1.2],
      [2, 0, 2, -1.6],
    ];
    const logits = tf.tensor2d(rows);
    const grad = tf.grad((x: Tensor) => infoNceFromLogits(x as Tensor2D))(logits);
    const got = grad.arraySync() as number[][];
    rows.forEach((row, i) => {
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => expect(got[i]![j]!).toBeCloseTo((Math.exp(v) / z - (j === 0 ? 1 : 0)) / rows.length, 6));
    });
    tf.dispose([logits, grad]);
  });

  it('does not leak tensors', () => {
    const q = tf.tensor2d([[1, 0]]);
    const n = tf.tensor2d([[0, 1]]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) infoNceLoss(q, q, n, 0.07).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([q, n]);
  });
});
