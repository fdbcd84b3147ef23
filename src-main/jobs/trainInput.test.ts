// Bad training input through the services: no labels, too few, labels on images gone from disk,
// images of wildly different sizes. Each gets a clear error or a recorded warning, and the
// project's labels are never touched.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiError,
  databaseSnapshot,
  testServices,
  workspace,
  writePng,
  type Workspace,
} from '../services/testing/fixtures.js';

/** Wildly different sizes and aspects; the last one is the test image. */
const FILES: [string, number, number][] = [
  ['tiny.png', 40, 30],
  ['wide.png', 900, 200],
  ['tall.png', 150, 1200],
  ['test.png', 500, 60],
];

let ws: Workspace;
let t: ReturnType<typeof testServices>;
let ids: Record<string, number>;

const quick = { head: 'heatmap', backbone: 'smallnet', size: 64, steps: 2, seed: 1 } as const;

beforeAll(async () => {
  ws = workspace('ls-train-input-');
  for (const [name, w, h] of FILES) await writePng(path.join(ws.imageRoot, name), w, h);
  t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  const nose = (await t.call('keypoints.add', { name: 'nose' })).keypoints[0]!.id;
  const tail = (await t.call('keypoints.add', { name: 'tail' })).keypoints[1]!.id;
  ids = Object.fromEntries((await t.call('images.list', {})).items.map((i) => [i.relPath, i.id]));
  await t.call('images.split', { testImages: ['test.png'] });
  // Zero labels first.
  expect((await apiError(t.call('runs.train', quick))).message).toMatch(/No labeled images in the train split/);
  for (const [name, w, h] of FILES) {
    await t.call('annotations.set', { imageId: ids[name]!, keypointId: nose, x: w * 0.25, y: h * 0.5 });
    await t.call('annotations.set', { imageId: ids[name]!, keypointId: tail, x: w * 0.75, y: h * 0.5 });
  }
});

afterAll(() => {
  t.services.close();
  ws.cleanup();
});

describe('training input', { timeout: 300_000 }, () => {
  it('refuses to train without labeled train images, creating no run', async () => {
    await t.call('images.split', { testFraction: 1 });
    expect((await apiError(t.call('runs.train', quick))).message).toMatch(
      /No labeled images in the train split.*move labeled images out of the test/,
    );
    await t.call('images.split', { testImages: ['test.png'] });
    expect(await t.call('runs.list', {})).toEqual([]);
  });

  it('says how many labeled images there are when asked for more', async () => {
    expect((await apiError(t.call('runs.train', { ...quick, labels: 5 }))).message).toMatch(
      /Asked for 5 labeled images but the train split has 3/,
    );
    expect((await apiError(t.call('runs.train', { ...quick, head: 'paper', fineTune: 'all' }))).message).toMatch(
      /paper head trains on frozen features/,
    );
  });

  it('trains and predicts on images of wildly different sizes, in each image\u2019s own pixels', async () => {
    const run = await t.call('runs.train', quick);
    expect(run.status).toBe('done');
    const predicted = await t.call('runs.predict', { runId: run.id, split: 'all' });
    const predictions = await t.call('predictions.list', { runId: predicted.id });
    expect(predictions).toHaveLength(FILES.length * 2);
    for (const [name, w, h] of FILES) {
      const mine = predictions.filter((p) => p.imageId === ids[name]);
      expect(mine).toHaveLength(2);
      // Letterboxed: the input square covers the image's longer side around its centre.
      const side = Math.max(w, h);
      for (const p of mine) {
        expect(Math.abs(p.x - w / 2)).toBeLessThanOrEqual(side / 2 + 1);
        expect(Math.abs(p.y - h / 2)).toBeLessThanOrEqual(side / 2 + 1);
      }
    }
    const report = await t.call('runs.evaluate', { runId: run.id, split: 'test' });
    expect(report).toMatchObject({ images: 1, points: 2, predictRunId: predicted.id });
  });

  it('records the augmentation chosen from the labels, and the ranges a request overrides', async () => {
    // every label has the nose left of the tail: upright to within 0 degrees, mirrors never seen
    const chosen = await t.call('runs.train', quick);
    expect(chosen.config.augmentation).toMatchObject({ rotationDegrees: 15, flip: false });
    expect(chosen.config.augmentationFromLabels).toEqual(chosen.config.augmentation);
    expect(chosen.config.labeledSpread).toMatchObject({ skeletons: 3, rotationDegrees: 0 });
    const overridden = await t.call('runs.train', {
      ...quick,
      augment: { rotationDegrees: 90, translate: 'anywhere' },
    });
    expect(overridden.status).toBe('done');
    expect(overridden.config.augmentation).toMatchObject({ rotationDegrees: 90, translate: 'anywhere', flip: false });
    expect(overridden.config.augmentationFromLabels).toEqual(chosen.config.augmentation);
  });

  it('refuses augmentation ranges out of bounds, creating no run', async () => {
    const before = (await t.call('runs.list', {})).length;
    for (const augment of [{ rotationDegrees: 270 }, { scale: [1.5, 0.5] }, { translate: [2, 0] }, { shear: 3 }]) {
      const error = await apiError(t.call('runs.train', { ...quick, augment } as never));
      expect(error.code).toBe('invalid');
    }
    expect((await apiError(t.call('runs.train', { ...quick, augment: { scale: [1.5, 0.5] } }))).message).toMatch(
      /min <= max/,
    );
    expect((await t.call('runs.list', {})).length).toBe(before);
  });

  it('leaves out labels on images deleted from disk with a warning, and fails clearly when none is left', async () => {
    const before = databaseSnapshot(ws.projectDir);
    rmSync(path.join(ws.imageRoot, 'wide.png'));
    const run = await t.call('runs.train', quick);
    expect(run.metrics?.examples).toBe(2);
    expect(run.metrics?.problems).toEqual([
      expect.stringMatching(/wide\.png.*cannot be read.*its labels are left out/),
    ]);

    rmSync(path.join(ws.imageRoot, 'tiny.png'));
    rmSync(path.join(ws.imageRoot, 'tall.png'));
    const error = await apiError(t.call('runs.train', quick));
    expect(error.message).toMatch(/Training run \d+ failed: none of the 3 labeled images can be used for training/);
    expect(error.message).toMatch(/tall\.png/);
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
  });
});
