import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scalar, Tensor4D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, type Backbone } from '../backbones/index.js';
import { initEngine, tf } from '../engine.js';
import { runTrainLoop } from '../train/trainLoop.js';
import { loadWeightsInto, saveWeights } from '../weights.js';
import { gaussianTargets, HeatmapHead } from './heatmapHead.js';

let backbone: Backbone;
let head: HeatmapHead;
const K = 3;

beforeAll(async () => {
  await initEngine();
  backbone = createBackbone({ arch: 'resnet18' }, { seed: 3 });
  head = new HeatmapHead(
    backbone,
    { keypointCount: K, stage: 'conv3_x', decoderChannels: 16, outputStride: 4, sigma: 1 },
    5,
  );
});

afterAll(() => {
  head.dispose();
  backbone.dispose();
});

describe('heatmap head', () => {
  it('is fully convolutional with stride 4 and a skip from conv2_x', () => {
    expect(head.tapStages.sort()).toEqual(['conv2_x', 'conv3_x']);
    const logits = tf.tidy(() => head.logits(tf.zeros([2, 64, 48, 3]) as Tensor4D, false, 'none'));
    expect(logits.shape).toEqual([2, 16, 12, K]);
    logits.dispose();
  });

  it('decodes an argmax with exact sub-cell refinement of a quadratic peak; confidence = softmax mass near it', () => {
    const [h, w] = [10, 12];
    const peaks = [
      [3.3, 5.7],
      [7.8, 1.2],
      [0, 9], // on the border: no refinement along x
    ];
    const values = new Float32Array(h * w * K);
    for (let i = 0; i < h; i++)
      for (let c = 0; c < w; c++)
        peaks.forEach(([cx, cy], j) => {
          values[(i * w + c) * K + j] = 2 - ((c - cx!) ** 2 + (i - cy!) ** 2) / 2;
        });
    // two images: the same logits, then all of them shifted by a constant (the same softmax)
    const logits = tf.tensor4d(
      Float32Array.from(
        { length: 2 * values.length },
        (_, i) => values[i % values.length]! + (i < values.length ? 0 : 7),
      ),
      [2, h, w, K],
    );
    const { coords, confidence, heatmaps } = head.decode(logits);
    logits.dispose();
    expect(Array.from(coords.subarray(K * 2))).toEqual(
      Array.from(coords.subarray(0, K * 2)).map((v) => expect.closeTo(v, 4)),
    );
    for (let m = 0; m < 2 * K; m++) {
      const map = heatmaps.values.subarray(m * h * w, (m + 1) * h * w);
      expect(map.reduce((sum, v) => sum + v, 0)).toBeCloseTo(1, 5);
    }
    // the map is the softmax over the cells: keypoint 0's cell (x 3, y 6) against (x 0, y 0)
    expect(Math.log(heatmaps.values[6 * w + 3]! / heatmaps.values[0]!)).toBeCloseTo(
      values[(6 * w + 3) * K]! - values[0]!,
      4,
    );
    expect(coords[0]).toBeCloseTo((3.3 + 0.5) * 4, 4);
    expect(coords[1]).toBeCloseTo((5.7 + 0.5) * 4, 4);
    expect(coords[2]).toBeCloseTo((7.8 + 0.5) * 4, 4);
    expect(coords[3]).toBeCloseTo((1.2 + 0.5) * 4, 4);
    expect(coords[4]).toBe(0.5 * 4);
    expect(coords[5]).toBeCloseTo(9.5 * 4, 4);
    // Keypoint 0's best cell is (x 3, y 6): its confidence is the softmax mass of cells x 2-4, y 5-7.
    let near = 0;
    let total = 0;
    for (let i = 0; i < h; i++)
      for (let c = 0; c < w; c++) {
        const e = Math.exp(values[(i * w + c) * K]!);
        total += e;
        if (Math.abs(c - 3) <= 1 && Math.abs(i - 6) <= 1) near += e;
      }
    expect(confidence[0]).toBeCloseTo(near / total, 5);
    expect(confidence[0]).toBeGreaterThan(0.5);
  });

  it('puts normalised Gaussian targets at the points (cell centres at (i + 0.5) * stride) and none for masked points', () => {
    const points = new Float32Array([18, 10, 0, 0, 30, 2]);
    const values = gaussianTargets(head.spec, points, new Float32Array([1, 0, 1]), 1, 8, 10);
    const targets = tf.tensor4d(values, [1, K, 8, 10]);
    const [first, masked, third] = targets.arraySync()[0]!;
    targets.dispose();
    const sum = (map: number[][]) => map.flat().reduce((a, b) => a + b, 0);
    expect(sum(first!)).toBeCloseTo(1, 5);
    expect(sum(third!)).toBeCloseTo(1, 5);
    // (18, 10) px = cell (x 4.0, y 2.0): exactly on the centre of column 4, row 2: the peak, and
    // the next column exp(-1/2) of it (sigma 1 cell).
    expect(Math.max(...first!.flat())).toBe(first![2]![4]);
    expect(first![2]![5]! / first![2]![4]!).toBeCloseTo(Math.exp(-0.5), 5);
    expect(masked!.flat().every((v) => v === 0)).toBe(true);
  });

  it('ignores masked points: zero gradient for their logits', () => {
    const logits = tf.randomNormal([2, 6, 6, K]) as Tensor4D;
    const uniform = tf.randomUniform([2, K, 6, 6]);
    const targets = tf.div(uniform, tf.sum(uniform, [2, 3], true)) as Tensor4D;
    const mask = tf.tensor2d([1, 0, 1, 1, 1, 0], [2, K]);
    const dLogits = tf.grad((z) => head.loss(z as Tensor4D, targets, mask))(logits);
    const gl = dLogits.arraySync() as number[][][][];
    const channel = (g: number[][][][], b: number, k: number) => g[b]!.flat().map((cell) => cell[k]!);
    expect(channel(gl, 0, 1).every((v) => v === 0)).toBe(true);
    expect(channel(gl, 1, 2).every((v) => v === 0)).toBe(true);
    expect(channel(gl, 0, 0).some((v) => v !== 0)).toBe(true);
    tf.dispose([logits, uniform, targets, mask, dLogits]);
  });

  it('is the cross-entropy between the target distributions and the spatial softmax, averaged over unmasked points', () => {
    const logits = tf.randomNormal([2, 3, 4, K], 0, 2, 'float32', 7) as Tensor4D;
    const uniform = tf.randomUniform([2, K, 3, 4], 0, 1, 'float32', 8);
    const targets = tf.div(uniform, tf.sum(uniform, [2, 3], true)) as Tensor4D;
    const maskValues = [1, 0, 1, 1, 1, 0];
    const mask = tf.tensor2d(maskValues, [2, K]);
    const loss = head.loss(logits, targets, mask);
    const z = logits.arraySync();
    const t = targets.arraySync();
    let total = 0;
    for (let b = 0; b < 2; b++)
      for (let j = 0; j < K; j++) {
        if (!maskValues[b * K + j]) continue;
        const cells = z[b]!.flat().map((cell) => cell[j]!);
        const logSum = Math.log(cells.reduce((a, v) => a + Math.exp(v), 0));
        total -= t[b]![j]!.flat().reduce((a, p, i) => a + p * (cells[i]! - logSum), 0);
      }
    expect(loss.dataSync()[0]).toBeCloseTo(total / 4, 4);
    tf.dispose([logits, uniform, targets, mask, loss]);
  });

  it('trains exactly the backbone variables each fine-tuning mode names', () => {
    const layer2 = new Set([...backbone.weights].filter(([n]) => n.startsWith('layer2.')).map(([, v]) => v));
    const deeper = new Set([...backbone.weights].filter(([n]) => /^layer[34]\./.test(n)).map(([, v]) => v));
    expect(head.backboneTrainable('none')).toEqual([]);
    const last = head.backboneTrainable('last');
    expect(last.length).toBeGreaterThan(0);
    expect(last.every((v) => layer2.has(v) && v.trainable)).toBe(true);
    expect(last.length).toBe([...layer2].filter((v) => v.trainable).length);
    const all = head.backboneTrainable('all');
    expect(all.length).toBeGreaterThan(last.length);
    expect(all.some((v) => deeper.has(v))).toBe(false);
  });

  it('has finite gradients for every trained variable, and its loss falls on a tiny problem', async () => {
    const images = tf.randomNormal([2, 48, 48, 3], 0, 1, 'float32', 11) as Tensor4D;
    const points = new Float32Array([10, 12, 30, 20, 40, 40, 24, 24, 8, 36, 44, 6]);
    const mask = tf.tensor2d([1, 1, 1, 1, 0, 1], [2, K]);
    const targets = tf.tensor4d(gaussianTargets(head.spec, points, mask.dataSync() as Float32Array, 2, 12, 12), [
      2,
      K,
      12,
      12,
    ]);
    const trainable = [...head.decoderTrainable(), ...head.backboneTrainable('all')];
    const { value, grads } = tf.variableGrads(
      () => head.loss(head.logits(images, true, 'all'), targets, mask) as Scalar,
      trainable,
    );
    expect(Object.keys(grads)).toHaveLength(trainable.length);
    for (const g of Object.values(grads)) expect(Number.isFinite(g.abs().max().dataSync()[0]!)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);

    const before = tf.memory().numTensors;
    const result = await runTrainLoop({
      optimizer: { learningRate: 3e-3, weightDecay: 0, steps: 25, batchSize: 2 },
      trainable,
      decayed: [],
      makeBatch: () => null,
      batchImages: () => 2,
      loss: () => head.loss(head.logits(images, true, 'all'), targets, mask),
      disposeBatch: () => undefined,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.losses[24]!).toBeLessThan(0.5 * result.losses[0]!);
    // Prediction leaks nothing either.
    const logits = tf.tidy(() => head.logits(images, false, 'all'));
    head.decode(logits);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, mask, targets]);
  });

  it('takes backbone weights from any run, and saves/loads as a whole', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heatmap-weights-'));
    const images = tf.randomNormal([1, 40, 40, 3], 0, 1, 'float32', 21) as Tensor4D;
    const spec = { keypointCount: K, stage: 'conv3_x', decoderChannels: 16, outputStride: 4, sigma: 1 };
    const logitsOf = (h: HeatmapHead) => tf.tidy(() => h.logits(images, false, 'none').dataSync());
    try {
      // A "pretraining run": its backbone weights go into a fresh backbone under a new head.
      await saveWeights(path.join(dir, 'backbone'), backbone.weights);
      await saveWeights(path.join(dir, 'head'), head.weights);
      const other = createBackbone({ arch: 'resnet18' }, { seed: 99 });
      // Same decoder seed on both backbones: only the backbone weights differ.
      const reference = new HeatmapHead(backbone, spec, 8);
      const fresh = new HeatmapHead(other, spec, 8);
      expect(Array.from(logitsOf(fresh))).not.toEqual(Array.from(logitsOf(reference)));
      loadWeightsInto(path.join(dir, 'backbone'), other.weights);
      expect(Array.from(logitsOf(fresh))).toEqual(Array.from(logitsOf(reference)));
      // The whole trained head (backbone + decoder) round-trips through one file.
      const differentDecoder = new HeatmapHead(other, spec, 77);
      loadWeightsInto(path.join(dir, 'head'), differentDecoder.weights);
      expect(Array.from(logitsOf(differentDecoder))).toEqual(Array.from(logitsOf(head)));
      reference.dispose();
      fresh.dispose();
      differentDecoder.dispose();
      other.dispose();
    } finally {
      images.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a bad configuration', () => {
    const spec = { keypointCount: 2, stage: 'conv3_x', decoderChannels: 8, outputStride: 4, sigma: 1 };
    expect(() => new HeatmapHead(backbone, { ...spec, stage: 'layer9' })).toThrow(/no stage "layer9"/);
    expect(() => new HeatmapHead(backbone, { ...spec, outputStride: 3 })).toThrow(/output stride 3/);
    expect(() => new HeatmapHead(backbone, { ...spec, keypointCount: 0 })).toThrow(/at least one keypoint/);
  });
});
