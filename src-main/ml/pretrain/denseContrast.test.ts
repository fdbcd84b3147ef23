import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src-shared/random.js';
import { initEngine, tf } from '../engine.js';
import type { Scalar, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import {
  createDenseContrastState,
  denseContrastLoss,
  denseContrastStep,
  disposeDenseContrastState,
  featuresAtPoints,
  resolveDenseContrastConfig,
  samplePointPairs,
  type DenseContrastConfig,
  type DenseContrastState,
} from './denseContrast.js';
import { gratingImages, narrowBackbone, smallDenseContrastOverrides } from './pretrainTestKit.js';

beforeAll(async () => {
  await initEngine();
});

const states: DenseContrastState[] = [];
afterEach(() => {
  for (const s of states.splice(0)) disposeDenseContrastState(s);
});

const smallConfig = smallDenseContrastOverrides;

function smallState(
  imageCount: number,
  totalSteps: number,
  overrides: Partial<DenseContrastConfig> = {},
): DenseContrastState {
  const config = resolveDenseContrastConfig(smallConfig(overrides), imageCount);
  const state = createDenseContrastState({ config, imageCount, seed: 1, totalSteps, backboneFactory: narrowBackbone });
  states.push(state);
  return state;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Eq. 7 of paper 003 written out with loops, for unit or any rows. */
function naiveLoss(a: number[][], b: number[][], tau: number): number {
  const s = (x: number[], y: number[]) => Math.exp(x.reduce((acc, v, i) => acc + v * y[i]!, 0) / tau);
  const side = (x: number[][], y: number[][]) => {
    let total = 0;
    for (let i = 0; i < x.length; i++) {
      let denominator = 0;
      for (let j = 0; j < x.length; j++) {
        denominator += s(x[i]!, y[j]!);
        if (j !== i) denominator += s(x[i]!, x[j]!);
      }
      total += -Math.log(s(x[i]!, y[i]!) / denominator);
    }
    return total / x.length;
  };
  return (side(a, b) + side(b, a)) / 2;
}

describe('dense contrastive loss (paper 003 Eq. 7)', () => {
  it('equals the equation computed term by term', () => {
    const rng = createRng(5);
    const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: 4 }, () => rng.uniform(-1, 1)));
    const a = rows(6);
    const b = rows(6);
    const loss = denseContrastLoss(tf.tensor2d(a) as Tensor2D, tf.tensor2d(b) as Tensor2D, 0.3);
    expect(loss.dataSync()[0]).toBeCloseTo(naiveLoss(a, b, 0.3), 4);
    loss.dispose();
  });

  it('has the gradient autodiff gives the equation written with plain ops', () => {
    // The reference: the two sides of Eq. 7 as log-sum-exp over [positive, cross, within] logits.
    const reference = (a: Tensor2D, b: Tensor2D, tau: number) => {
      const n = a.shape[0];
      const side = (x: Tensor2D, y: Tensor2D) => {
        const masked = (m: Tensor2D) => tf.add(m, tf.mul(tf.eye(n), -1e9));
        const logits = tf.div(
          tf.concat(
            [tf.sum(tf.mul(x, y), 1, true), masked(tf.matMul(x, y, false, true)), masked(tf.matMul(x, x, false, true))],
            1,
          ),
          tau,
        );
        return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.squeeze(tf.slice(logits, [0, 0], [-1, 1]), [1])));
      };
      return tf.div(tf.add(side(a, b), side(b, a)), 2);
    };
    const rng = createRng(8);
    const unitRows = (n: number, d: number) =>
      tf.tidy(() => {
        const x = tf.tensor2d(Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal())));
        return tf.div(x, tf.norm(x, 2, 1, true)) as Tensor2D;
      });
    const a = unitRows(7, 5);
    const b = unitRows(7, 5);
    const [ours, theirs] = [denseContrastLoss, reference].map((f) =>
      tf
        .grads((x, y) => f(x as Tensor2D, y as Tensor2D, 0.2) as Scalar)([a, b])
        .map((g) => Array.from(g.dataSync())),
    );
    const scale = Math.max(...theirs!.flat().map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    ours!.flat().forEach((g, i) => expect(Math.abs(g - theirs!.flat()[i]!)).toBeLessThan(1e-4 * scale));
    tf.dispose([a, b]);
  });

  it('is ln(2N - 1) when no point can be told apart, and near 0 when each matches only itself', () => {
    const same = tf.ones([5, 3]) as Tensor2D;
    const chance = denseContrastLoss(same, same, 0.1);
    expect(chance.dataSync()[0]).toBeCloseTo(Math.log(9), 4);
    const eye = tf.eye(5) as Tensor2D;
    const perfect = denseContrastLoss(eye, eye, 0.05);
    expect(perfect.dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([same, chance, eye, perfect]);
  });
});

describe('point pairs and features at points', () => {
  it('maps every point of view 1 to the same image point in view 2, inside both views', () => {
    const rng = createRng(3);
    const boxes1 = [
      { x: 10, y: 5, w: 60, h: 50 },
      { x: 0, y: 0, w: 100, h: 80 },
    ];
    const boxes2 = [
      { x: 30, y: 20, w: 40, h: 45 },
      { x: 50, y: 40, w: 50, h: 40 },
    ];
    const size = 32;
    const pairs = samplePointPairs(rng, boxes1, boxes2, size, 20);
    expect(pairs.batchIndex.length).toBeGreaterThan(10);
    for (let i = 0; i < pairs.batchIndex.length; i++) {
      const b = pairs.batchIndex[i]!;
      const [u1, v1, u2, v2] = [
        pairs.view1[2 * i]!,
        pairs.view1[2 * i + 1]!,
        pairs.view2[2 * i]!,
        pairs.view2[2 * i + 1]!,
      ];
      for (const c of [u1, v1, u2, v2]) expect(c >= 0.5 && c <= size - 0.5).toBe(true);
      expect(boxes1[b]!.x + (u1 * boxes1[b]!.w) / size).toBeCloseTo(boxes2[b]!.x + (u2 * boxes2[b]!.w) / size, 3);
      expect(boxes1[b]!.y + (v1 * boxes1[b]!.h) / size).toBeCloseTo(boxes2[b]!.y + (v2 * boxes2[b]!.h) / size, 3);
    }
    // Views that share nothing give no pairs.
    const none = samplePointPairs(rng, [{ x: 0, y: 0, w: 10, h: 10 }], [{ x: 50, y: 50, w: 10, h: 10 }], size, 20);
    expect(none.batchIndex.length).toBe(0);
  });

  it('samples a feature map bilinearly at view pixels (cell centres at (j + 0.5) x stride)', () => {
    // value(b, y, x, c) = 100 b + 10 c + x + 2 y: bilinear sampling reproduces it exactly inside the map.
    const [b, h, w, c] = [2, 4, 5, 2];
    const data = new Float32Array(b * h * w * c);
    for (let n = 0; n < b; n++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let k = 0; k < c; k++) data[((n * h + y) * w + x) * c + k] = 100 * n + 10 * k + x + 2 * y;
    const map = tf.tensor4d(data, [b, h, w, c]);
    const stride = 4;
    const xy = Float32Array.from([2, 2, 9, 7.4, 13.2, 5.1, 18, 14]);
    const batch = Int32Array.from([0, 1, 1, 0]);
    const out = featuresAtPoints(map, stride, batch, xy);
    const got = out.arraySync();
    for (let i = 0; i < batch.length; i++) {
      const fx = xy[2 * i]! / stride - 0.5;
      const fy = xy[2 * i + 1]! / stride - 0.5;
      for (let k = 0; k < c; k++) expect(got[i]![k]).toBeCloseTo(100 * batch[i]! + 10 * k + fx + 2 * fy, 4);
    }
    // Beyond the outermost cell centres the value is clamped to the border cell.
    const edge = featuresAtPoints(map, stride, Int32Array.from([0]), Float32Array.from([0.5, 0.5]));
    expect(edge.arraySync()[0]).toEqual([0, 10]);
    tf.dispose([map, out, edge]);
  });
});

describe('dense contrastive step', () => {
  it('learns on CI-sized data: loss falls, a point grows more similar to itself than to others; leak-free; deeper stages untouched', async () => {
    const count = 32;
    const steps = 150;
    const images = gratingImages(count, 48, 2);
    const state = smallState(count, steps);
    const deeper = state.backbone.weights.get('conv3.weight')!;
    const deeperBefore = deeper.dataSync().slice();
    const rng = createRng(4);
    const losses: number[] = [];
    const gaps: number[] = [];
    let tensors = -1;
    for (let i = 0; i < steps; i++) {
      const batch = tf.gather(images, rng.shuffled(Array.from({ length: count }, (_, k) => k)).slice(0, 8)) as Tensor4D;
      const r = await denseContrastStep(state, batch);
      batch.dispose();
      losses.push(r.loss);
      gaps.push(r.positiveSimilarity - r.negativeSimilarity);
      expect(r.chanceLoss).toBeCloseTo(Math.log(2 * r.points - 1), 9);
      if (i === 2) tensors = tf.memory().numTensors;
      if (i > 2) expect(tf.memory().numTensors).toBe(tensors);
    }
    images.dispose();
    expect(state.step).toBe(steps);
    const start = mean(losses.slice(0, 15));
    const end = mean(losses.slice(-15));
    expect(end).toBeLessThan(start - 0.5);
    expect(mean(gaps.slice(-15))).toBeGreaterThan(mean(gaps.slice(0, 15)) + 0.2);
    expect([...deeper.dataSync()]).toEqual([...deeperBefore]);
  }, 120_000);

  it('rejects unusable settings and inputs with messages that say what to change', async () => {
    expect(() => resolveDenseContrastConfig(smallConfig({ batchSize: 0 }), 10)).toThrow(
      /batchSize must be a positive integer/,
    );
    expect(() => resolveDenseContrastConfig(smallConfig({ batchSize: 16 }), 10)).toThrow(
      /batch size 16 is larger than the 10 images/,
    );
    expect(() => resolveDenseContrastConfig(smallConfig(), 0)).toThrow(/at least one image/);
    for (const [cropMinScale, cropMaxScale] of [
      [0, 1],
      [0.5, 0.3],
      [0.2, 1.5],
    ])
      expect(() => resolveDenseContrastConfig(smallConfig({ cropMinScale, cropMaxScale }), 10)).toThrow(
        /view crop scales must satisfy 0 < min <= max <= 1/,
      );
    expect(() => resolveDenseContrastConfig(smallConfig({ temperature: 0 }), 10)).toThrow(
      /temperature must be positive/,
    );
    expect(() => resolveDenseContrastConfig(smallConfig({ stage: 'conv9' }), 10)).toThrow(
      /smallnet has no stage "conv9"/,
    );
    expect(() => resolveDenseContrastConfig({ backbone: { arch: 'smallnet', outChannels: 8 } }, 10)).toThrow(
      /use resnet18 or resnet50/,
    );
    const state = smallState(10, 5);
    const gray = tf.zeros([8, 32, 32, 1]) as Tensor4D;
    await expect(denseContrastStep(state, gray)).rejects.toThrow(/\[B, H, W, 3\] batch of RGB images/);
    gray.dispose();
    expect(state.step).toBe(0);
  });
});
