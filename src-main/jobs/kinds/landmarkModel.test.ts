// Trained models as files: a saved model predicts exactly as before (the heatmap head's distance
// prior included), a damaged or foreign folder is refused by name, and a pretraining checkpoint's backbone (MoCo keeps it under `query.`)
// initialises the network, while one of another architecture is refused with the fix.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor4D, Variable } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, type Backbone } from '../../ml/backbones/index.js';
import { initEngine, tf } from '../../ml/engine.js';
import { HeatmapHead } from '../../ml/heads/heatmapHead.js';
import { PaperHead, stageChannelTable } from '../../ml/heads/paperHead.js';
import { HeatmapLandmarkModel } from '../../ml/train/trainHeatmapHead.js';
import { PaperLandmarkModel } from '../../ml/train/trainPaperHead.js';
import { saveWeights } from '../../ml/weights.js';
import type { TrainedModelSpec } from '../jobTypes.js';
import {
  buildBackbone,
  loadLandmarkModel,
  MODEL_RESIZE_MODE,
  saveLandmarkModel,
  type TrainedModel,
} from './landmarkModel.js';

const SIZE = 32;
/** A band the scrambled network's own peaks are unlikely to fit: decoding it changes the points. */
const PRIOR = { pairs: [{ a: 0, b: 1, min: 0, max: 0.05 }] };
let dir: string;
let images: Tensor4D;

const spec = (head: TrainedModelSpec['head']): TrainedModelSpec => ({
  head,
  backbone: 'smallnet',
  inputSize: SIZE,
  fineTune: 'none',
  keypointCount: 2,
  seed: 1,
  steps: 1,
});

/** Moves every weight away from its seeded initial value, so a load that did nothing shows. */
function scramble(weights: Iterable<[string, Variable]>, seed: number): void {
  let s = seed;
  for (const [, v] of weights) tf.tidy(() => v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', s++)));
}

function buildModel(head: TrainedModelSpec['head'], backbone: Backbone): TrainedModel {
  if (head === 'heatmap') {
    const h = new HeatmapHead(
      backbone,
      { keypointCount: 2, stage: 'conv5', decoderChannels: 8, outputStride: 2, sigma: 1.5 },
      1,
    );
    return new HeatmapLandmarkModel(h, SIZE, PRIOR);
  }
  const h = new PaperHead(
    {
      keypointCount: 2,
      intermediateHeatmaps: 4,
      hypercolumn: { stages: ['conv2', 'conv3'], gridSize: [16, 16] },
      stageChannels: stageChannelTable(backbone.stages),
      inputSize: SIZE,
      softargmaxMultiplier: 10,
    },
    1,
  );
  return new PaperLandmarkModel(backbone, h, MODEL_RESIZE_MODE);
}

beforeAll(async () => {
  await initEngine();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-model-'));
  images = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 7) as Tensor4D;
});

afterAll(() => {
  images.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('landmark model files', () => {
  for (const head of ['heatmap', 'paper'] as const) {
    it(`reloads a ${head} model that predicts exactly as the saved one, without leaking tensors`, async () => {
      const backbone = createBackbone({ arch: 'smallnet', outChannels: 2 }, { seed: 1 });
      const model = buildModel(head, backbone);
      scramble(
        head === 'heatmap'
          ? (model as HeatmapLandmarkModel).head.weights
          : new Map([...backbone.weights, ...(model as PaperLandmarkModel).head.weights]),
        3,
      );
      const before = model.predictInput(images);
      const folder = path.join(dir, head);
      await saveLandmarkModel(folder, spec(head), model);
      model.dispose();
      backbone.dispose();

      const tensors = tf.memory().numTensors;
      const loaded = loadLandmarkModel(folder);
      expect(loaded.spec).toEqual(spec(head));
      if (head === 'heatmap') expect((loaded.predictor as HeatmapLandmarkModel).distancePrior).toEqual(PRIOR);
      const after = loaded.predictor.predictInput(images);
      loaded.dispose();
      expect(Array.from(after.coords)).toEqual(Array.from(before.coords));
      expect(Array.from(after.confidence)).toEqual(Array.from(before.confidence));
      expect(tf.memory().numTensors).toBe(tensors);
    });
  }

  it('refuses damaged and foreign folders by name', async () => {
    expect(() => loadLandmarkModel(path.join(dir, 'nothing'))).toThrow(/no saved weights at .*nothing/);
    const backbone = createBackbone({ arch: 'smallnet', outChannels: 2 }, { seed: 1 });
    await saveWeights(path.join(dir, 'foreign'), backbone.weights, { method: 'moco' });
    backbone.dispose();
    expect(() => loadLandmarkModel(path.join(dir, 'foreign'))).toThrow(/is not a trained landmark model/);
    const modelJson = path.join(dir, 'heatmap', 'model.json');
    const saved = JSON.parse(readFileSync(modelJson, 'utf8'));
    saved.userDefinedMetadata.metadata.distancePrior.pairs[0].b = 2;
    writeFileSync(modelJson, JSON.stringify(saved));
    expect(() => loadLandmarkModel(path.join(dir, 'heatmap'))).toThrow(/heatmap has a damaged distance prior/);
    writeFileSync(modelJson, '{"format": ');
    expect(() => loadLandmarkModel(path.join(dir, 'heatmap'))).toThrow(/model\.json is corrupted: not valid JSON/);
  });

  it('starts from a pretraining checkpoint\u2019s backbone, refusing another architecture', async () => {
    const pretrained = createBackbone({ arch: 'smallnet', outChannels: 64 }, { seed: 5 });
    scramble(pretrained.weights, 11);
    const checkpoint = path.join(dir, 'moco');
    const prefixed = new Map([...pretrained.weights].map(([n, v]) => [`query.${n}`, v] as const));
    await saveWeights(checkpoint, prefixed, { method: 'moco', config: { backbone: pretrained.config } });
    const features = { kind: 'pretrained', runId: 4, checkpointDir: checkpoint } as const;
    const built = buildBackbone(spec('heatmap'), features);
    expect(built.config).toEqual({ arch: 'smallnet', outChannels: 64 });
    for (const [name, v] of pretrained.weights)
      expect(Array.from(built.weights.get(name)!.dataSync())).toEqual(Array.from(v.dataSync()));
    built.dispose();
    pretrained.dispose();
    expect(() => buildBackbone({ ...spec('heatmap'), backbone: 'resnet18' }, features)).toThrow(
      'pretraining run 4 trained a smallnet backbone: train with --backbone smallnet',
    );
  });
});
