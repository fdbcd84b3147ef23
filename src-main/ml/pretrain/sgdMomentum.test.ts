import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import { SgdMomentum } from './sgdMomentum.js';

beforeAll(async () => {
  await initEngine();
});

describe('SGD with momentum and weight decay', () => {
  it("follows PyTorch's update exactly", () => {
    // w = 1, wd = 0.1, mu = 0.9, lr = 0.1. Step 1, g = 0.5: d = 0.5 + 0.1 = 0.6, buf = 0.6, w = 0.94.
    // Step 2, g = -0.2: d = -0.2 + 0.094 = -0.106, buf = 0.54 - 0.106 = 0.434, w = 0.94 - 0.0434 = 0.8966.
    const w = tf.variable(tf.tensor1d([1]));
    const sgd = new SgdMomentum(new Map([['w', w]]), { momentum: 0.9, weightDecay: 0.1 });
    for (const [g, expectedW, expectedBuf] of [
      [0.5, 0.94, 0.6],
      [-0.2, 0.8966, 0.434],
    ] as const) {
      const grad = tf.tensor1d([g]);
      sgd.step(new Map([['w', grad]]), 0.1);
      grad.dispose();
      expect(w.dataSync()[0]).toBeCloseTo(expectedW, 6);
      expect(sgd.buffers.get('w')!.dataSync()[0]).toBeCloseTo(expectedBuf, 6);
    }
    sgd.dispose();
    w.dispose();
  });

  it('names a parameter without a gradient and leaks nothing', () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([3]));
    const sgd = new SgdMomentum(
      new Map([
        ['a', a],
        ['b', b],
      ]),
      { momentum: 0.9, weightDecay: 0 },
    );
    const grad = tf.ones([2]);
    const before = tf.memory().numTensors;
    expect(() => sgd.step(new Map([['a', grad]]), 0.1)).toThrow(/no gradient for parameter b/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([grad, a, b]);
    sgd.dispose();
  });
});
