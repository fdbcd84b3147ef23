import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import { readWeights } from '../weights.js';
import {
  createDenseContrastState,
  denseContrastStep,
  disposeDenseContrastState,
  resolveDenseContrastConfig,
} from './denseContrast.js';
import { loadDenseContrastState, saveDenseContrastState } from './denseContrastCheckpoint.js';
import { createMocoState, disposeMocoState } from './moco.js';
import { saveMocoState } from './mocoCheckpoint.js';
import { resolveMocoConfig } from './mocoConfig.js';
import { gratingImages, narrowBackbone, smallDenseContrastOverrides, smallMocoOverrides } from './pretrainTestKit.js';

let dir: string;
beforeAll(async () => {
  await initEngine();
  dir = mkdtempSync(path.join(os.tmpdir(), 'dense-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = { backboneFactory: narrowBackbone };

describe('dense contrastive checkpoint', () => {
  it('a resumed state continues with exactly the losses of the uninterrupted run', async () => {
    const config = resolveDenseContrastConfig(smallDenseContrastOverrides(), 8);
    const images = gratingImages(8, 40, 9);
    const original = createDenseContrastState({ config, imageCount: 8, seed: 3, totalSteps: 6, ...options });
    try {
      for (let i = 0; i < 3; i++) await denseContrastStep(original, images);
      const at = path.join(dir, 'resume');
      await saveDenseContrastState(original, at);
      const resumed = loadDenseContrastState(at, options);
      try {
        expect(resumed.step).toBe(3);
        expect(resumed.totalSteps).toBe(6);
        for (let i = 0; i < 3; i++) {
          const a = await denseContrastStep(original, images);
          const b = await denseContrastStep(resumed, images);
          expect(b.step).toBe(a.step);
          expect(b.loss).toBeCloseTo(a.loss, 5);
        }
      } finally {
        disposeDenseContrastState(resumed);
      }
      // train --features finds the backbone under `backbone.`, with its trained weights.
      const { tensors } = readWeights(at);
      expect(tensors.get('backbone.conv1.weight')!.shape).toEqual(original.backbone.weights.get('conv1.weight')!.shape);
      for (const t of tensors.values()) t.dispose();
    } finally {
      disposeDenseContrastState(original);
      images.dispose();
    }
  }, 60_000);

  it('refuses a MoCo checkpoint and another backbone, leaking nothing', async () => {
    const { config } = resolveMocoConfig(smallMocoOverrides(), 16);
    const moco = createMocoState({ config, imageCount: 16, seed: 1, totalSteps: 2, ...options });
    const mocoDir = path.join(dir, 'moco');
    await saveMocoState(moco, mocoDir);
    disposeMocoState(moco);
    const before = tf.memory().numTensors;
    expect(() => loadDenseContrastState(mocoDir, options)).toThrow(
      /not a dense contrastive checkpoint \(method "moco"\)/,
    );
    const dense = createDenseContrastState({
      config: resolveDenseContrastConfig(smallDenseContrastOverrides(), 8),
      imageCount: 8,
      seed: 1,
      totalSteps: 2,
      ...options,
    });
    const denseDir = path.join(dir, 'dense');
    await saveDenseContrastState(dense, denseDir);
    disposeDenseContrastState(dense);
    expect(() => loadDenseContrastState(denseDir, { ...options, backbone: { arch: 'resnet18' } })).toThrow(
      /smallnet dense contrastive run; it cannot be resumed as resnet18/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
