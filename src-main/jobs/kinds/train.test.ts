// The heatmap head's configuration of a run (what the train job and bench:regressor's real-data
// mode train with): the run's chosen ranges, budget and the backbone's stage, nothing else.
import { describe, expect, it } from 'vitest';
import { HEATMAP_HEAD_DEFAULTS } from '../../ml/train/config.js';
import type { TrainedModelSpec } from '../jobTypes.js';
import { heatmapTrainingConfig } from './train.js';

const spec: TrainedModelSpec = {
  head: 'heatmap',
  backbone: 'smallnet',
  inputSize: 192,
  fineTune: 'last',
  keypointCount: 3,
  seed: 4,
  steps: 1000,
};

describe('heatmapTrainingConfig', () => {
  it("takes the run's ranges, budget, input and the backbone's heatmap stage", () => {
    const config = heatmapTrainingConfig({
      spec,
      budgetSeconds: 90,
      augmentation: { rotationDegrees: 20, scale: [0.9, 1.1], translate: [0.1, 0.05], flip: false },
    });
    expect(config).toEqual({
      inputSize: 192,
      fineTune: 'last',
      steps: 1000,
      budgetSeconds: 90,
      backboneStage: 'conv5',
      outputStride: 2,
      augmentation: {
        ...HEATMAP_HEAD_DEFAULTS.augmentation,
        rotationDegrees: 20,
        scale: [0.9, 1.1],
        translate: [0.1, 0.05],
        flipProbability: 0,
      },
    });
  });

  it('leaves the budget and the ranges to the defaults when the run has none', () => {
    const config = heatmapTrainingConfig({ spec: { ...spec, backbone: 'resnet18' }, budgetSeconds: null });
    expect(config).not.toHaveProperty('budgetSeconds');
    expect(config).not.toHaveProperty('augmentation');
    expect(config.backboneStage).toBe('conv3_x');
    expect(config.outputStride).toBe(4);
  });
});
