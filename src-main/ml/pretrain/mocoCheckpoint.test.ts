import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import { saveWeights } from '../weights.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import { createMocoState, disposeMocoState, mocoStep, type MocoState } from './moco.js';
import { loadMocoState, saveMocoState } from './mocoCheckpoint.js';
import { resolveMocoConfig } from './mocoConfig.js';
import { gratingImages, narrowBackbone, smallMocoOverrides } from './pretrainTestKit.js';

let tmp: string;
beforeAll(async () => {
  await initEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'moco-checkpoint-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const states: MocoState[] = [];
afterEach(() => {
  for (const s of states.splice(0)) disposeMocoState(s);
});
const track = (s: MocoState) => (states.push(s), s);

function freshState(): MocoState {
  const { config } = resolveMocoConfig(smallMocoOverrides(), 32);
  return track(createMocoState({ config, imageCount: 32, seed: 11, totalSteps: 50, backboneFactory: narrowBackbone }));
}

describe('MoCo checkpoints', () => {
  it('save -> load -> continue gives the same losses as continuing without saving', async () => {
    const images = gratingImages(32, 40, 2);
    const batches = [0, 16, 0, 16, 0, 16].map(
      (start) => tf.slice(images, [start, 0, 0, 0], [16, -1, -1, -1]) as Tensor4D,
    );
    const original = freshState();
    for (const b of batches.slice(0, 3)) await mocoStep(original, b);
    const dir = path.join(tmp, 'resume');
    await saveMocoState(original, dir);
    const resumed = track(loadMocoState(dir, { backboneFactory: narrowBackbone }));
    expect(resumed.step).toBe(3);
    expect(resumed.queue.pointer).toBe(original.queue.pointer);
    expect(resumed.config).toEqual(original.config);
    for (const b of batches.slice(3)) {
      const a = await mocoStep(original, b);
      const r = await mocoStep(resumed, b);
      expect(r.step).toBe(a.step);
      expect(r.loss).toBeCloseTo(a.loss, 5);
      expect(r.positiveSimilarity).toBeCloseTo(a.positiveSimilarity, 5);
    }
    // Everything, momentum buffers and key encoder included, stayed in step.
    for (const [name, v] of original.key.weights) {
      expect(tf.max(tf.abs(tf.sub(v, resumed.key.weights.get(name)!))).dataSync()[0]).toBeLessThan(1e-5);
    }
    tf.dispose([images, ...batches]);
  });

  it('replaces an older checkpoint in place', async () => {
    const images = gratingImages(16, 40, 4);
    const state = freshState();
    const dir = path.join(tmp, 'replace');
    await saveMocoState(state, dir);
    await mocoStep(state, images);
    await saveMocoState(state, dir);
    expect(track(loadMocoState(dir, { backboneFactory: narrowBackbone })).step).toBe(1);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.replace'))).toEqual([]);
    images.dispose();
  });

  it('refuses a checkpoint of another method or backbone, and a damaged one, with clear errors', async () => {
    const state = freshState();
    const dir = path.join(tmp, 'mismatch');
    await saveMocoState(state, dir);
    expect(() => loadMocoState(dir, { backbone: { arch: 'resnet50' }, backboneFactory: narrowBackbone })).toThrow(
      /is a smallnet\(64\) MoCo run; it cannot be resumed as resnet50/,
    );

    const other = path.join(tmp, 'not-moco');
    const w = tf.variable(tf.zeros([2]));
    await saveWeights(other, new Map([['w', w]]), { method: 'byol' });
    w.dispose();
    expect(() => loadMocoState(other)).toThrow(/not a MoCo checkpoint \(method "byol"\)/);

    fs.appendFileSync(path.join(dir, 'weights.bin'), 'x');
    expect(() => loadMocoState(dir, { backboneFactory: narrowBackbone })).toThrow(/corrupted/);
    expect(() => loadMocoState(path.join(tmp, 'missing'))).toThrow(/no saved weights/);
  });

  it('leaks no tensors when a load fails', async () => {
    const state = freshState();
    const dir = path.join(tmp, 'leak');
    await saveMocoState(state, dir);
    const before = tf.memory().numTensors;
    // Loading into a different network fails after the state was built: it must be freed.
    expect(() => loadMocoState(dir)).toThrow(/do not fit this model/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
