// The paper head: numerical checks of the head itself (exact factorised hypercolumn, gradients,
// masking, confidence, no leaks) and the acceptance test: aligned demo crops, 20 labels,
// random-init ResNet-18 hypercolumns, the product's default training (PAPER_HEAD_DEFAULTS: 1200
// TPS steps, 48x48 grid), mean error < 0.6 x the mean-shape baseline's on 40 held-out crops
// (measured 0.554 with this backbone seed, 0.636 with seed 2: the margin is thin; 252-310 s
// measured under load).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateLandmarks, fitMeanShape, predictMeanShape } from '../../../src-shared/metrics.js';
import { createBackbone, type Backbone, type Taps } from '../backbones/index.js';
import { writeDemoDataset } from '../demo/writeDataset.js';
import { initEngine, tf } from '../engine.js';
import { PaperHead, stageChannelTable } from '../heads/paperHead.js';
import { hypercolumn, type HypercolumnConfig } from '../hypercolumn.js';
import { predictLandmarks } from '../predict.js';
import { readDatasetFolder, type DatasetFolder } from './demoData.js';
import { trainPaperHead } from './trainPaperHead.js';
import { runTrainLoop } from './trainLoop.js';

const TRAIN = 20;
const TEST = 40;

let backbone: Backbone;
let dir: string;
let data: DatasetFolder;

beforeAll(async () => {
  await initEngine();
  backbone = createBackbone({ arch: 'resnet18' }, { seed: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paper-head-'));
  await writeDemoDataset(dir, { regime: 'crop', count: TRAIN + TEST, seed: 17 });
  data = readDatasetFolder(dir);
}, 300_000);

afterAll(() => {
  backbone.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function smallHead(grid = 6, m = 4): { head: PaperHead; taps: Taps; config: HypercolumnConfig } {
  const config: HypercolumnConfig = { stages: ['conv2_x', 'conv3_x', 'conv4_x'], gridSize: [grid, grid] };
  const head = new PaperHead(
    {
      keypointCount: 2,
      intermediateHeatmaps: m,
      hypercolumn: config,
      stageChannels: stageChannelTable(backbone.stages),
      inputSize: 32,
      softargmaxMultiplier: 3,
    },
    4,
  );
  const images = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 9) as Tensor4D;
  const taps = backbone.apply(images, { training: false, stages: config.stages });
  images.dispose();
  head.setFeatureStatistics(taps);
  return { head, taps, config };
}

describe('paper head (numerics)', () => {
  it('equals 1x1 filters on the explicit hypercolumn (the factorised form is exact)', () => {
    const { head, taps, config } = smallHead();
    const factorised = head.intermediateLogits(taps);
    const explicit = tf.tidy(() => {
      // Rebuild the same filters for the concatenated hypercolumn: W_s / scale_s, and the centring.
      const hc = hypercolumn(taps, config);
      const w = tf.concat(
        config.stages.map((s) =>
          tf.div(head.weights.get(`filters.${s}`)!, tf.reshape(head.weights.get(`featureStd.${s}`)!, [-1, 1])),
        ),
        0,
      );
      const mean = tf.concat(
        config.stages.map((s) => head.weights.get(`featureMean.${s}`)!),
        0,
      );
      const [b, g, , c] = hc.shape;
      const flat = tf.matMul(tf.reshape(tf.sub(hc, mean), [b * g * g, c]), w as Tensor2D);
      const total = config.stages.reduce((n, s) => n + head.weights.get(`filters.${s}`)!.shape[0]!, 0);
      return tf.mul(tf.reshape(flat, [b, g, g, -1]), 3 / Math.sqrt(total));
    });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(factorised, explicit))).dataSync()[0]!);
    const scale = tf.tidy(() => tf.max(tf.abs(explicit)).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-4 * scale);
    tf.dispose([factorised, explicit, ...Object.values(taps)]);
    head.dispose();
  });

  it('matches finite differences, and masked targets get exactly zero gradient', () => {
    const { head, taps } = smallHead();
    const targets = tf.tensor3d([5, 7, 20, 11, 16, 16, 30, 2, 9, 25, 1, 1], [3, 2, 2]);
    const mask = tf.tensor2d([1, 1, 0, 1, 1, 0], [3, 2]);
    const lossOf = () => head.loss(taps, targets, mask);
    const { grads } = tf.variableGrads(lossOf, head.trainableVariables());
    const linear = head.weights.get('linear')!;
    const analytic = grads[linear.name]!.dataSync();
    const values = linear.dataSync().slice();
    const eps = 1e-2;
    for (const i of [0, 3, 9, 14]) {
      const at = (delta: number) => {
        const v = values.slice();
        v[i]! += delta;
        linear.assign(tf.tensor(v, linear.shape));
        return tf.tidy(() => lossOf().dataSync()[0]!);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      expect(analytic[i]!).toBeCloseTo(numeric, 3);
    }
    linear.assign(tf.tensor(values, linear.shape));
    for (const g of Object.values(grads)) expect(Number.isFinite(g.abs().max().dataSync()[0]!)).toBe(true);
    expect(Object.keys(grads)).toHaveLength(head.trainableVariables().length);

    const dTargets = tf
      .grad((t) => head.loss(taps, t as Tensor3D, mask))(targets)
      .arraySync() as number[][][];
    expect(dTargets[1]![0]!.map(Math.abs)).toEqual([0, 0]);
    expect(dTargets[2]![1]!.map(Math.abs)).toEqual([0, 0]);
    expect(Math.abs(dTargets[0]![0]![0]!)).toBeGreaterThan(0);
    tf.dispose([targets, mask, ...Object.values(grads), ...Object.values(taps)]);
    head.dispose();
  });

  it('drives its loss down on a tiny problem without leaking', async () => {
    const { head, taps } = smallHead(8, 4);
    const targets = tf.tensor3d([5, 7, 20, 11, 16, 16, 30, 2, 9, 25, 1, 1], [3, 2, 2]);
    const mask = tf.tensor2d([1, 1, 1, 1, 1, 0], [3, 2]);
    const before = tf.memory().numTensors;
    const result = await runTrainLoop({
      optimizer: { learningRate: 0.01, weightDecay: 0, steps: 40, batchSize: 3 },
      trainable: head.trainableVariables(),
      decayed: [],
      makeBatch: () => null,
      batchImages: () => 3,
      loss: () => head.loss(taps, targets, mask),
      disposeBatch: () => undefined,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.losses[39]!).toBeLessThan(0.2 * result.losses[0]!);
    tf.dispose([targets, mask, ...Object.values(taps)]);
    head.dispose();
  });

  it('is confident where its heatmaps are peaked and not where they are flat', () => {
    const { head, taps } = smallHead(8, 3);
    const filters = ['conv2_x', 'conv3_x', 'conv4_x'].map((s) => head.weights.get(`filters.${s}`)!);
    const confidence = () => tf.tidy(() => head.forward(taps).confidence.dataSync()[0]!);
    filters.forEach((f) => f.assign(tf.zerosLike(f)));
    expect(confidence()).toBeCloseTo(0, 5);
    filters.forEach((f) => f.assign(tf.mul(tf.randomNormal(f.shape, 0, 1, 'float32', 3), 40)));
    expect(confidence()).toBeGreaterThan(0.5);
    tf.dispose(Object.values(taps));
    head.dispose();
  });
});

describe('paper head training', () => {
  it('trains, predicts with confidences and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const { model, report } = await trainPaperHead({
      backbone,
      items: data.items.slice(0, 4),
      keypointCount: data.names.length,
      config: { featureGridSize: 12, batchSize: 2, steps: 6, augmentation: 'tps', intermediateHeatmaps: 5 },
    });
    expect(report.losses).toHaveLength(6);
    const predicted = await predictLandmarks(model, data.items.slice(4, 7));
    expect(predicted.predictions).toHaveLength(3);
    for (const p of predicted.predictions) {
      expect(p.points).toHaveLength(data.names.length);
      for (const q of p.points) {
        expect(q.confidence).toBeGreaterThanOrEqual(0);
        expect(q.confidence).toBeLessThanOrEqual(1);
        // Original 112-pixel crop coordinates.
        expect(q.x).toBeGreaterThan(-20);
        expect(q.x).toBeLessThan(132);
      }
    }
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);

  it('refuses to train without labeled images, with a clear message', async () => {
    await expect(trainPaperHead({ backbone, items: [], keypointCount: 11 })).rejects.toThrow(
      /training needs labeled images/,
    );
  });
});

describe('paper head on aligned demo crops (acceptance)', () => {
  it(`beats the mean shape on held-out crops from ${TRAIN} labels (< 0.6 x its error)`, async () => {
    const train = data.items.slice(0, TRAIN);
    const test = data.items.slice(TRAIN);
    const before = tf.memory().numTensors;
    const { model, report } = await trainPaperHead({
      backbone,
      items: train,
      keypointCount: data.names.length,
      seed: 1,
    });
    expect(report.problems).toEqual([]);
    const predicted = await predictLandmarks(model, test);
    const size = 112;
    const frame = { x: 0, y: 0, w: size, h: size };
    const shape = fitMeanShape(
      train.map((item) => ({ points: item.points.map((p) => (p ? [p.x, p.y] : null)), frame })),
    );
    const baseline = evaluateLandmarks(
      test.map((item) => ({ predicted: predictMeanShape(shape, frame), truth: item.points, referenceSize: size })),
      { normPair: data.normPair },
    );
    const ours = evaluateLandmarks(
      predicted.predictions.map((p, i) => ({
        predicted: p.points.map((q) => [q.x, q.y] as [number, number]),
        truth: test[i]!.points,
        referenceSize: size,
      })),
      { normPair: data.normPair },
    );
    const ratio = ours.pixelError! / baseline.pixelError!;
    console.log(
      `paper head: ${ours.pixelError!.toFixed(2)} px vs mean shape ${baseline.pixelError!.toFixed(2)} px (ratio ${ratio.toFixed(3)}), ${report.seconds.toFixed(0)} s`,
    );
    expect(ratio).toBeLessThan(0.6);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 900_000);
});
