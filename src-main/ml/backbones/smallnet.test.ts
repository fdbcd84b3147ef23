import { beforeAll, describe, expect, it } from 'vitest';
import type { Scalar, Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from '../engine.js';
import { createBackbone } from './index.js';

describe('SmallNet (paper 004 Sec. 4.1)', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('has six convs with 20, 48, 64, 80, 256, K filters and outputs K maps at half resolution', () => {
    const net = createBackbone({ arch: 'smallnet', outChannels: 10 }, { seed: 1 });
    expect(net.stages.map((s) => s.channels)).toEqual([20, 48, 64, 80, 256, 10]);
    const x = tf.randomNormal([2, 64, 48, 3]) as Tensor4D;
    const taps = net.apply(x, { training: false });
    expect(taps.conv1!.shape).toEqual([2, 32, 24, 20]); // conv1 + the single 2x2 max pool
    expect(taps.conv6!.shape).toEqual([2, 32, 24, 10]);
    // conv6 is linear (heatmap logits): it produces negative values, a ReLU would not
    expect(tf.min(taps.conv6!).dataSync()[0]).toBeLessThan(0);
    expect(tf.min(taps.conv5!).dataSync()[0]).toBeGreaterThanOrEqual(0);
    tf.dispose([x, ...Object.values(taps)]);
    net.dispose();
  });

  it('trains: the loss of a fixed target falls over a few SGD steps, without leaking tensors', () => {
    const net = createBackbone({ arch: 'smallnet', outChannels: 4 }, { seed: 2 });
    const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 3) as Tensor4D;
    const target = tf.randomNormal([4, 8, 8, 4], 0, 1, 'float32', 4);
    const opt = tf.train.sgd(0.05);
    const vars = net.trainableVariables('all');
    const step = () => {
      const loss = opt.minimize(
        () => tf.mean(tf.square(tf.sub(net.apply(x, { training: true }).conv6!, target))) as Scalar,
        true,
        vars,
      )!;
      const v = loss.dataSync()[0]!;
      loss.dispose();
      return v;
    };
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 15; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(0.8 * first);
    tf.dispose([x, target]);
    net.dispose();
  });

  it('rejects a missing landmark count', () => {
    expect(() => createBackbone({ arch: 'smallnet', outChannels: 0 })).toThrow(/outChannels >= 1/);
  });
});
