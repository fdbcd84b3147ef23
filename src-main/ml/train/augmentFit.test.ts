// Acceptance test of augmentation chosen from the labels (issue 16 point 3): the heatmap head at
// 20 labels, its geometric augmentation chosen by chooseAugmentation from those labels, must
// beat the mean shape by a wide margin (<= 0.3 x its error) on 20 held-out frames of
// - the fixed rig (demo regime 'rig', 160x120: a critter heading right along the top half, its
//   mirror image in the bottom half, points *_top / *_bot), where the fixed recipe for
//   free-moving animals (rotation +-180, flips, anywhere) misses by more than the mean shape;
// - free-moving critters (demo regime 'frame', 256x192: small, anywhere, any orientation).
// Sized for CI on 2 cores: ResNet-18 to conv3_x, 128-pixel training crops, 150 steps of batch 8.
// Measured 2026-12-06, tfjs-node CPU, 2 shared cores (bench/README.md "Augmentation chosen from
// the labels"): rig 5.4 px vs mean shape 21.6 px (0.251; the fixed recipe 33.2 px, 1.535),
// frames 14.9 px vs 74.3 px (0.200); 50-60 s each with other work running (load average 7-10).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseAugmentation, describeAugmentation } from '../../../src-shared/augmentRanges.js';
import { evaluateLandmarks, fitMeanShape, predictMeanShape } from '../../../src-shared/metrics.js';
import { createBackbone } from '../backbones/index.js';
import type { DemoRegime } from '../demo/generate.js';
import { writeDemoDataset } from '../demo/writeDataset.js';
import { initEngine } from '../engine.js';
import { predictLandmarks } from '../predict.js';
import { heatmapAugmentation } from './config.js';
import { readDatasetFolder } from './demoData.js';
import { trainHeatmapHead } from './trainHeatmapHead.js';

const TRAIN = 20;
const TEST = 20;
const STEPS = 150;

const dirs: string[] = [];
beforeAll(async () => {
  await initEngine();
});
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** Held-out pixel error of the head trained with chosen ranges, and the mean shape's. */
async function heldOutErrors(regime: DemoRegime, width: number, height: number, inputSize: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `augment-fit-${regime}-`));
  dirs.push(dir);
  await writeDemoDataset(dir, { regime, count: TRAIN + TEST, seed: 7, frameWidth: width, frameHeight: height });
  const data = readDatasetFolder(dir);
  const train = data.items.slice(0, TRAIN);
  const test = data.items.slice(TRAIN);
  const skeletons = train.map((item) => ({
    points: item.points.map((p): [number, number] | null => (p ? [p.x, p.y] : null)),
    width,
    height,
  }));
  const { ranges } = chooseAugmentation(skeletons, data.flipPairs);
  const backbone = createBackbone({ arch: 'resnet18' }, { seed: 1 });
  const { model } = await trainHeatmapHead({
    backbone,
    items: train,
    keypointCount: data.names.length,
    flipPairs: data.flipPairs,
    config: { inputSize, trainCropSize: 128, steps: STEPS, batchSize: 8, augmentation: heatmapAugmentation(ranges) },
    seed: 1,
  });
  const predicted = await predictLandmarks(model, test);
  model.dispose();
  backbone.dispose();
  const frame = { x: 0, y: 0, w: width, h: height };
  const shape = fitMeanShape(skeletons.map((s) => ({ points: s.points, frame })));
  const meanShape = evaluateLandmarks(
    test.map((item) => ({ predicted: predictMeanShape(shape, frame), truth: item.points, referenceSize: width })),
    { normPair: data.normPair },
  ).pixelError!;
  const ours = evaluateLandmarks(
    predicted.predictions.map((p, i) => ({
      predicted: p.points.map((q): [number, number] => [q.x, q.y]),
      truth: test[i]!.points,
      referenceSize: width,
    })),
    { normPair: data.normPair },
  ).pixelError!;
  console.log(
    `${regime} ${width}x${height}, ${describeAugmentation(ranges)}: ${ours.toFixed(1)} px vs mean shape ${meanShape.toFixed(1)} px (ratio ${(ours / meanShape).toFixed(3)})`,
  );
  return { ranges, ours, meanShape };
}

describe('heatmap head with augmentation chosen from 20 labels (acceptance)', () => {
  it('on a fixed rig (two views, *_top / *_bot): a small rotation, no flips, <= 0.3 x the mean-shape error', async () => {
    const { ranges, ours, meanShape } = await heldOutErrors('rig', 160, 120, 160);
    expect(ranges.flip).toBe(false);
    expect(ranges.rotationDegrees).toBeLessThan(30);
    expect(ours / meanShape).toBeLessThanOrEqual(0.3);
  }, 600_000);

  it('on free-moving critters: any orientation, flips, <= 0.3 x the mean-shape error', async () => {
    const { ranges, ours, meanShape } = await heldOutErrors('frame', 256, 192, 256);
    expect(ranges.flip).toBe(true);
    expect(ranges.rotationDegrees).toBeGreaterThan(120);
    expect(ours / meanShape).toBeLessThanOrEqual(0.3);
  }, 600_000);
});
