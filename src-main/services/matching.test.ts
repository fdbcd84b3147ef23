// matching.* and overlays.* over the real services and worker processes (random-init features,
// 96 px): a match stored as an overlay and read back without a worker, the benchmark and label
// propagation on a small labeled project, and every bad input of issue 18.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Keypoint, ImageSummary } from '../../src-shared/domain.js';
import { ProjectStore } from '../store/projectStore.js';
import { apiError, labelingProject, workspace, type Workspace } from './testing/fixtures.js';

let ws: Workspace;
let t: Awaited<ReturnType<typeof labelingProject>>;
let images: ImageSummary[];
let keypoints: Keypoint[];

beforeAll(async () => {
  ws = workspace('ls-matching-');
  t = await labelingProject(ws, 4, ['nose', 'tail']);
  images = t.images;
  keypoints = t.keypoints;
  for (const [i, image] of images.entries()) {
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[0]!.id, x: 10 + i, y: 12 });
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[1]!.id, x: 50 - i, y: 30 });
  }
});

afterAll(() => {
  t?.services.close();
  ws?.cleanup();
});

describe('matching.match and overlays', () => {
  it('matches a labeled point onto another image, stores the map, and reads it back from SQLite', async () => {
    const { match, overlayId } = await t.call('matching.match', {
      features: 'random',
      referenceImageId: images[0]!.id,
      keypointId: keypoints[0]!.id,
      targetImageId: images[1]!.id,
    });
    expect(match.x).toBeGreaterThanOrEqual(-1);
    expect(match.x).toBeLessThanOrEqual(65);
    expect(match.score).toBeGreaterThan(0.5);
    expect(match.margin).toBeGreaterThanOrEqual(0);
    const started = performance.now();
    const overlay = await t.call('overlays.get', { overlayId });
    expect(performance.now() - started).toBeLessThan(20);
    expect(overlay).toMatchObject({
      runId: null,
      imageId: images[1]!.id,
      keypointId: keypoints[0]!.id,
      kind: 'match',
      width: 48,
      height: 48,
      reference: { imageId: images[0]!.id, x: 10, y: 12 },
      match: { x: expect.closeTo(match.x, 6) },
    });
    // 64x48 letterboxed into 96 px: the grid spans 64 px across and 16 px above and below the image.
    expect(overlay.bounds).toEqual({ x: 0, y: -8, w: 64, h: 64 });
    expect(overlay.values).toHaveLength(48 * 48);
    expect(overlay.valueMax).toBeCloseTo(Math.max(...overlay.values), 3);
    expect(
      await t.call('overlays.find', {
        runId: null,
        imageId: images[1]!.id,
        keypointId: keypoints[0]!.id,
        kind: 'match',
      }),
    ).toMatchObject({ id: overlayId });
    expect(
      await t.call('overlays.find', { runId: null, imageId: images[2]!.id, keypointId: null, kind: 'heatmap' }),
    ).toBeNull();

    // Damaged descriptor cache entries are recomputed: the same match comes back.
    const cacheDir = path.join(ws.projectDir, 'cache', 'descriptors');
    const entries = readdirSync(cacheDir);
    expect(entries.length).toBe(2);
    for (const name of entries) writeFileSync(path.join(cacheDir, name), 'garbage');
    const again = await t.call('matching.match', {
      features: 'random',
      referenceImageId: images[0]!.id,
      keypointId: keypoints[0]!.id,
      targetImageId: images[1]!.id,
    });
    expect(again.match.x).toBeCloseTo(match.x, 1);
    expect(readdirSync(cacheDir).map((n) => readFileSync(path.join(cacheDir, n)).length)).not.toContain(7);
  }, 60_000);

  it("describes with a training run's backbone at the run's own input size", async () => {
    const run = await t.call('runs.train', { head: 'heatmap', backbone: 'smallnet', size: 64, steps: 2 });
    const { overlayId } = await t.call('matching.match', {
      features: run.id,
      referenceImageId: images[0]!.id,
      keypointId: keypoints[0]!.id,
      targetImageId: images[1]!.id,
    });
    // 64 px input, the heatmaps' stride 4: a 16 x 16 grid over the same letterbox (not 48 x 48 at
    // the 96 px default).
    expect(await t.call('overlays.get', { overlayId })).toMatchObject({
      width: 16,
      height: 16,
      bounds: { x: 0, y: -8, w: 64, h: 64 },
    });
  }, 60_000);

  it('refuses a run with no backbone, a point outside the reference, the same image, an unreadable target', async () => {
    const store = ProjectStore.open(ws.projectDir);
    const predict = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    store.close();
    const base = { referenceImageId: images[0]!.id, targetImageId: images[1]!.id };
    expect(
      (await apiError(t.call('matching.match', { ...base, features: predict.id, keypointId: keypoints[0]!.id })))
        .message,
    ).toBe(
      `Run ${predict.id} is a prediction run: it has no backbone to describe images with (use a pretraining or training run, or 'random').`,
    );
    expect(
      (await apiError(t.call('matching.match', { ...base, features: 'random', point: { x: 64.5, y: 3 } }))).message,
    ).toBe('The point (64.5, 3) is outside the reference image img0.jpg (0..64 x 0..48 pixels).');
    expect(
      (
        await apiError(
          t.call('matching.match', {
            ...base,
            targetImageId: images[0]!.id,
            features: 'random',
            point: { x: 1, y: 1 },
          }),
        )
      ).message,
    ).toMatch(/^The reference and the target are the same image \(img0\.jpg\)/);
    expect(
      (
        await apiError(
          t.call('matching.match', {
            ...base,
            features: 'random',
            keypointId: keypoints[0]!.id,
            point: { x: 1, y: 1 },
          }),
        )
      ).message,
    ).toMatch(/either the keypoint .* or a point, not both/);

    // A target whose file broke after the scan: a message naming it, nothing stored.
    const secret = 'password=hunter2';
    writeFileSync(path.join(ws.imageRoot, 'img3.jpg'), secret);
    const overlaysBefore = countOverlays();
    const unreadable = await apiError(
      t.call('matching.match', { ...base, targetImageId: images[3]!.id, features: 'random', point: { x: 5, y: 5 } }),
    );
    expect(unreadable.message).toMatch(/^The target image img3\.jpg cannot be read: .*Fix or replace the file/);
    expect(unreadable.message).not.toContain('hunter2');
    expect(countOverlays()).toBe(overlaysBefore);
  }, 60_000);

  it('says so when a stored overlay blob is truncated, and keeps it', async () => {
    const { overlayId } = await t.call('matching.match', {
      features: 'random',
      referenceImageId: images[1]!.id,
      point: { x: 20, y: 20 },
      targetImageId: images[2]!.id,
    });
    const store = ProjectStore.open(ws.projectDir);
    store.db.prepare('UPDATE overlays SET data = substr(data, 1, 100) WHERE id = ?').run(overlayId);
    store.close();
    const error = await apiError(t.call('overlays.get', { overlayId }));
    expect(error).toMatchObject({ code: 'invalid' });
    expect(error.message).toMatch(/map is damaged: 100 bytes where its 48x48 grid needs 4608\. Compute it again/);
    expect((await apiError(t.call('overlays.get', { overlayId: 999_999 }))).code).toBe('not_found');
  }, 60_000);
});

describe('matching.evaluate and matching.propagate', () => {
  it('measures same- and different-instance errors on the labels, and propagates labels as pre-labels', async () => {
    const evaluation = await t.call('matching.evaluate', { features: 'random', pairs: 3 });
    expect(evaluation.same.pairs).toBeGreaterThan(0);
    expect(evaluation.different.pairs).toBeGreaterThan(0);
    expect(Number.isFinite(evaluation.same.meanError)).toBe(true);
    expect(Object.keys(evaluation.different.perKeypoint)).toEqual(['nose', 'tail']);
    expect(evaluation.problems.join(' ')).toMatch(/img3|left out/);

    const { predictions } = await t.call('matching.propagate', { features: 'random', imageIds: [images[2]!.id], k: 2 });
    expect(predictions).toHaveLength(1);
    expect(predictions[0]!.points.map((p) => p.keypointId)).toEqual(keypoints.map((k) => k.id));
  }, 120_000);
});

function countOverlays(): number {
  const store = ProjectStore.open(ws.projectDir);
  try {
    return (store.db.prepare('SELECT count(*) AS n FROM overlays').get() as { n: number }).n;
  } finally {
    store.close();
  }
}
