import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../ml/engine.js';
import { warmDefaultPrediction } from './predict.js';

beforeAll(async () => {
  await initEngine();
});

describe('warmDefaultPrediction', () => {
  it("runs the default model's shapes and leaves no tensor behind", () => {
    const before = tf.memory().numTensors;
    warmDefaultPrediction();
    expect(tf.memory().numTensors).toBe(before);
  });
});
