import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import type { Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { createMocoState, disposeMocoState, embed, mocoEpoch, mocoStep, type MocoState } from './moco.js';
import { resolveMocoConfig } from './mocoConfig.js';
import { gratingImages, narrowBackbone, smallMocoOverrides } from './pretrainTestKit.js';

beforeAll(async () => {
  await initEngine();
});

const states: MocoState[] = [];
afterEach(() => {
  for (const s of states.splice(0)) disposeMocoState(s);
});

function smallState(imageCount: number, totalSteps: number, seed = 1, overrides = {}): MocoState {
  const { config } = resolveMocoConfig({ ...smallMocoOverrides(), ...overrides }, imageCount);
  const state = createMocoState({ config, imageCount, seed, totalSteps, backboneFactory: narrowBackbone });
  states.push(state);
  return state;
}

/** Batches of `batch` rows in a fresh random order each epoch (without replacement). */
function batchSampler(images: Tensor4D, batch: number, seed: number): () => Tensor4D {
  const rng = createRng(seed);
  let order: number[] = [];
  return () => {
    if (order.length < batch) order = rng.shuffled(Array.from({ length: images.shape[0] }, (_, i) => i));
    return tf.gather(images, order.splice(0, batch));
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('MoCo step', () => {
  it('learns: the loss falls well below its start and positive pairs become similar', async () => {
    const count = 64;
    const steps = 240;
    const images = gratingImages(count, 40, 1);
    const state = smallState(count, steps);
    const next = batchSampler(images, state.config.batchSize, 2);
    const losses: number[] = [];
    const similarities: number[] = [];
    for (let i = 0; i < steps; i++) {
      const batch = next();
      const result = await mocoStep(state, batch);
      batch.dispose();
      expect(result.chanceLoss).toBeCloseTo(Math.log(count + 1), 9);
      losses.push(result.loss);
      similarities.push(result.positiveSimilarity);
    }
    images.dispose();
    // The queue starts as random vectors (easy negatives): the start is measured once it holds
    // real keys, after count / batch = 4 steps.
    const start = losses.slice(4, 34);
    const end = losses.slice(-30);
    expect(mean(start)).toBeGreaterThan(3); // near chance, ln(65) = 4.17
    expect(mean(end)).toBeLessThan(mean(start) - 0.4);
    expect(mean(similarities.slice(-30))).toBeGreaterThan(mean(similarities.slice(4, 34)) + 0.2);
    expect(state.step).toBe(steps);
    expect(mocoEpoch(state)).toBe(steps / 4);
  }, 240_000);

  it('keeps the tensor count flat across steps', async () => {
    const images = gratingImages(32, 40, 3);
    const state = smallState(32, 20);
    const next = batchSampler(images, 16, 4);
    const step = async () => {
      const batch = next();
      await mocoStep(state, batch);
      batch.dispose();
    };
    await step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 6; i++) await step();
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });

  it('moves the key encoder by an exact EMA of the query encoder, and trains only the query', async () => {
    const images = gratingImages(16, 40, 5);
    const state = smallState(16, 10, 1, { keyMomentum: 0.9 });
    const warm = await mocoStep(state, images); // the encoders now differ
    expect(Number.isFinite(warm.loss)).toBe(true);
    const names = ['backbone.conv1.weight', 'backbone.bn2.weight', 'head.fc.0.weight', 'head.fc.2.bias'];
    const read = (w: ReadonlyMap<string, Variable>) =>
      new Map(names.map((n) => [n, Float32Array.from(w.get(n)!.dataSync())]));
    const query0 = read(state.query.weights);
    const key0 = read(state.key.weights);
    await mocoStep(state, images);
    const query1 = read(state.query.weights);
    const key1 = read(state.key.weights);
    for (const n of names) {
      const expected = key0.get(n)!.map((k, i) => 0.9 * k + 0.1 * query0.get(n)![i]!);
      const got = key1.get(n)!;
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
      // The query moved by SGD (so the EMA above is not trivially satisfied by equal encoders).
      expect(query1.get(n)!.some((v, i) => Math.abs(v - query0.get(n)![i]!) > 1e-7)).toBe(true);
    }
    images.dispose();
  });

  it('computes batch norm per sub-batch: one sub-batch cannot see the images of another', () => {
    const state = smallState(16, 10);
    const a = gratingImages(16, 32, 7);
    const b = gratingImages(16, 32, 8);
    // Same first half, different second half.
    const mixed = tf.concat([
      tf.slice(a, [0, 0, 0, 0], [8, -1, -1, -1]),
      tf.slice(b, [8, 0, 0, 0], [8, -1, -1, -1]),
    ]) as Tensor4D;
    const firstHalf = (x: Tensor2D) => tf.slice(x, [0, 0], [8, -1]);
    const split = [embed(state.query, a, 2), embed(state.query, mixed, 2)];
    const whole = [embed(state.query, a, 1), embed(state.query, mixed, 1)];
    const diff = (x: Tensor2D, y: Tensor2D) => tf.max(tf.abs(tf.sub(firstHalf(x), firstHalf(y)))).dataSync()[0]!;
    expect(diff(split[0]!, split[1]!)).toBeLessThan(1e-5);
    // With one batch norm over the whole batch the first half does depend on the second.
    expect(diff(whole[0]!, whole[1]!)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, mixed, ...split, ...whole]);
  });

  it('rejects images smaller than the crop, a batch of the wrong size and non-RGB input, changing nothing', async () => {
    const state = smallState(32, 10);
    const small = tf.zeros([16, 24, 24, 3]) as Tensor4D;
    const fewer = tf.zeros([8, 40, 40, 3]) as Tensor4D;
    const gray = tf.zeros([16, 40, 40, 1]) as Tensor4D;
    await expect(mocoStep(state, small)).rejects.toThrow(/24x24 pixels are smaller than the 32x32 crop/);
    await expect(mocoStep(state, fewer)).rejects.toThrow(/got 8 images; the run's batch size is 16/);
    await expect(mocoStep(state, gray)).rejects.toThrow(/\[B, H, W, 3\] batch of RGB images/);
    expect(state.step).toBe(0);
    expect(state.queue.pointer).toBe(0);
    tf.dispose([small, fewer, gray]);
  });
});

describe('MoCo on ResNet-18', () => {
  it('runs a step with the real backbone and a 512-wide MLP head', async () => {
    const { config } = resolveMocoConfig(
      { ...smallMocoOverrides(), backbone: { arch: 'resnet18' }, projectionHidden: null, batchSize: 8 },
      40,
    );
    const state = createMocoState({ config, imageCount: 40, seed: 3, totalSteps: 10 });
    states.push(state);
    expect(state.query.weights.get('head.fc.0.weight')!.shape).toEqual([512, 512]);
    expect(state.query.weights.get('head.fc.2.weight')!.shape).toEqual([512, 128]);
    const images = gratingImages(8, 40, 9);
    const result = await mocoStep(state, images);
    expect(result.loss).toBeGreaterThan(0);
    expect(result.loss).toBeLessThan(2 * result.chanceLoss);
    expect(Math.abs(result.positiveSimilarity)).toBeLessThanOrEqual(1 + 1e-6);
    const before = tf.memory().numTensors;
    await mocoStep(state, images);
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  }, 120_000);
});
