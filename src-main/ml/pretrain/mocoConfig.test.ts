import { describe, expect, it } from 'vitest';
import { MOCO_DEFAULTS, projectionHiddenWidth, resolveMocoConfig } from './mocoConfig.js';

describe('MoCo config', () => {
  it('has the MoCo v2 / paper 000 defaults', () => {
    expect(MOCO_DEFAULTS).toMatchObject({
      backbone: { arch: 'resnet18' },
      queueSize: 4096,
      temperature: 0.07,
      keyMomentum: 0.999,
      projectionDim: 128,
      learningRate: 0.03,
      sgdMomentum: 0.9,
      weightDecay: 1e-4,
      cropMinScale: 0.2,
    });
    // MoCo v2's MLP hidden width: the backbone's feature width (512 for ResNet-18, 2048 for ResNet-50).
    expect(projectionHiddenWidth(MOCO_DEFAULTS, 512)).toBe(512);
    expect(projectionHiddenWidth(MOCO_DEFAULTS, 2048)).toBe(2048);
  });

  it('keeps the queue when the folder is large enough, with no message', () => {
    const { config, messages } = resolveMocoConfig({}, 10_000);
    expect(config.queueSize).toBe(4096);
    expect(messages).toEqual([]);
  });

  it('clamps the queue to the number of images and says so', () => {
    const { config, messages } = resolveMocoConfig({}, 500);
    expect(config.queueSize).toBe(500);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/queue of 4096 negatives clamped to 500, the number of images/);
  });

  it('refuses a folder of one image', () => {
    expect(() => resolveMocoConfig({}, 1)).toThrow(/at least 2 images.*has 1/);
    expect(() => resolveMocoConfig({}, 0)).toThrow(/at least 2 images.*has 0/);
  });

  it('refuses a batch larger than the dataset, naming both numbers', () => {
    expect(() => resolveMocoConfig({ batchSize: 64 }, 40)).toThrow(/batch size 64 is larger than the 40 images/);
  });

  it('refuses a batch too small for its batch-norm sub-batches', () => {
    expect(() => resolveMocoConfig({ batchSize: 6, bnSplits: 4 }, 100)).toThrow(
      /batch size 6 is too small for 4 batch-norm sub-batches/,
    );
  });

  it('refuses a queue shorter than a batch and out-of-range hyperparameters', () => {
    expect(() => resolveMocoConfig({ queueSize: 16 }, 100)).toThrow(/queue size 16 is smaller than the batch size 32/);
    expect(() => resolveMocoConfig({ keyMomentum: 1 }, 100)).toThrow(/keyMomentum/);
    expect(() => resolveMocoConfig({ temperature: 0 }, 100)).toThrow(/temperature/);
    expect(() => resolveMocoConfig({ batchSize: 2.5 }, 100)).toThrow(/batchSize must be a positive integer/);
    expect(() => resolveMocoConfig({ cropMinScale: 0 }, 100)).toThrow(/cropMinScale/);
  });
});
