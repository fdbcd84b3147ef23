// The review loop through the services with real tiny jobs (SmallNet at 48 px, 3 steps): predict
// every image, review least confident first, accept and correct with provenance kept beside the
// label (and restored by undo/redo), progress, retrain through the queue, features and
// suggestions, the provenance export; and the bad inputs the Review screen can send.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Annotation, ImageSummary, Keypoint, RunRecord } from '../../src-shared/domain.js';
import { apiError, databaseSnapshot, testServices, workspace, writePng, type Workspace } from './testing/fixtures.js';

const TRAIN = { head: 'heatmap', backbone: 'smallnet', size: 48, steps: 3, seed: 1 } as const;
const IMAGES = 12;

let ws: Workspace;
let t: ReturnType<typeof testServices>;
let images: ImageSummary[];
let keypoints: Keypoint[];
let trainRun: RunRecord;
let predictRun: RunRecord;

async function ended(runId: number): Promise<RunRecord> {
  const end = Date.now() + 180_000;
  for (;;) {
    const { run } = await t.call('runs.get', { runId });
    if (['done', 'failed', 'cancelled', 'paused'].includes(run.status)) return run;
    if (Date.now() > end) throw new Error(`run ${runId} did not end`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const annotationsOf = (imageId: number) => t.call('annotations.list', { imageId });
const unlabeled = () => images.filter((i) => i.labeledCount === 0);

beforeAll(async () => {
  ws = workspace('ls-review-');
  for (let i = 0; i < IMAGES; i++) await writePng(path.join(ws.imageRoot, `img${i}.png`), 48 + 2 * i, 40 + i);
  t = testServices({ runQueue: true });
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  await t.call('keypoints.add', { name: 'nose' });
  keypoints = (await t.call('keypoints.add', { name: 'tail' })).keypoints;
  images = (await t.call('images.list', {})).items;
  // Six labeled images, two of them in the test split (the queue evaluates every training there).
  for (const [n, image] of images.slice(0, 6).entries()) {
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[0]!.id, x: 10 + n, y: 12 });
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[1]!.id, x: 30, y: 20 + n });
  }
  await t.call('images.split', { testImages: images.slice(4, 6).map((i) => i.relPath) });
  images = (await t.call('images.list', {})).items;
  trainRun = await ended((await t.call('runs.start', { kind: 'train', settings: TRAIN })).run.id);
  expect(trainRun.status).toBe('done');
  const queued = await t.call('runs.start', { kind: 'predict', settings: { runId: trainRun.id, split: 'all' } });
  predictRun = await ended(queued.run.id);
  expect(predictRun.status).toBe('done');
}, 300_000);

afterAll(() => {
  t?.services.close();
  ws?.cleanup();
});

describe('review of a prediction run', { timeout: 300_000 }, () => {
  it('lists the images least confident first, with filters, a keypoint filter, labels and their distance', async () => {
    const all = await t.call('review.list', { runId: predictRun.id });
    expect(all.total).toBe(IMAGES);
    const scores = all.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    for (const item of all.items) {
      expect(item.points.map((p) => p.keypointId)).toEqual(keypoints.map((k) => k.id));
      expect(item.score).toBe(Math.min(...item.points.map((p) => p.confidence)));
    }
    const labeled = await t.call('review.list', { runId: predictRun.id, filter: 'labeled' });
    expect(labeled.total).toBe(6);
    const point = labeled.items[0]!.points[0]!;
    expect(point.label).not.toBeNull();
    expect(point.distance).toBeCloseTo(Math.hypot(point.label!.x - point.x, point.label!.y - point.y), 6);
    expect((await t.call('review.list', { runId: predictRun.id, filter: 'unlabeled' })).total).toBe(6);
    expect((await t.call('review.list', { runId: predictRun.id, filter: 'reviewed' })).total).toBe(0);

    const tail = keypoints[1]!.id;
    const byTail = await t.call('review.list', { runId: predictRun.id, keypointId: tail });
    const tailScores = byTail.items.map((i) => i.score);
    expect(tailScores).toEqual(byTail.items.map((i) => i.points.find((p) => p.keypointId === tail)!.confidence));
    expect(tailScores).toEqual([...tailScores].sort((a, b) => a - b));

    const page = await t.call('review.list', { runId: predictRun.id, offset: 3, limit: 2 });
    expect(page.items.map((i) => i.image.id)).toEqual(all.items.slice(3, 5).map((i) => i.image.id));
  });

  it('accepts an image as one undo step keeping the predicted points and run, never over a human label unless asked', async () => {
    const target = unlabeled()[0]!;
    const accepted = await t.call('review.acceptImage', { runId: predictRun.id, imageId: target.id });
    expect(accepted.accepted).toBe(2);
    expect(accepted.skipped).toEqual([]);
    const predictions = await t.call('predictions.list', { runId: predictRun.id, imageId: target.id });
    for (const a of accepted.annotations) {
      const p = predictions.find((q) => q.keypointId === a.keypointId)!;
      expect(a).toMatchObject({
        source: 'accepted',
        x: p.x,
        y: p.y,
        predicted: { x: p.x, y: p.y, runId: predictRun.id },
      });
    }
    expect((await t.call('review.list', { runId: predictRun.id, filter: 'reviewed' })).items[0]!.image.id).toBe(
      target.id,
    );
    // One step: undo removes both points, redo brings them back with their provenance.
    expect((await t.call('history.undo', {}))!.annotations).toEqual([]);
    expect((await t.call('history.redo', {}))!.annotations).toEqual(accepted.annotations);

    const human = images[0]!;
    const before = await annotationsOf(human.id);
    const kept = await t.call('review.acceptImage', { runId: predictRun.id, imageId: human.id });
    expect(kept.accepted).toBe(0);
    expect(kept.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/"nose" on image \d+ already has a human label: it is kept \(accept with overwrite/),
      expect.stringMatching(/"tail" on image \d+ already has a human label/),
    ]);
    expect(await annotationsOf(human.id)).toEqual(before);
    const replaced = await t.call('review.acceptImage', { runId: predictRun.id, imageId: human.id, overwrite: true });
    expect(replaced.accepted).toBe(2);
    await t.call('history.undo', {});
    expect(await annotationsOf(human.id)).toEqual(before);
  });

  it('accepts one point; correcting it by dragging keeps the prediction; occluded/absent keep it too; undo restores it', async () => {
    const target = unlabeled()[1]!;
    const [nose, tail] = keypoints.map((k) => k.id) as [number, number];
    const start = await t.call('review.progress', { runId: predictRun.id });
    const accepted = await t.call('review.acceptPoint', { runId: predictRun.id, imageId: target.id, keypointId: nose });
    expect(accepted.source).toBe('accepted');
    const corrected = await t.call('review.correct', {
      runId: predictRun.id,
      imageId: target.id,
      keypointId: nose,
      x: 3,
      y: 4,
    });
    expect(corrected).toMatchObject({ source: 'corrected', x: 3, y: 4, predicted: accepted.predicted });
    const occluded = await t.call('annotations.setVisibility', {
      imageId: target.id,
      keypointId: nose,
      visibility: 'occluded',
    });
    expect(occluded).toMatchObject({ source: 'corrected', visibility: 'occluded', predicted: accepted.predicted });
    await t.call('history.undo', {});
    await t.call('history.undo', {});
    expect(await t.call('annotations.list', { imageId: target.id })).toEqual([accepted]);
    await t.call('history.redo', {});
    await t.call('history.redo', {});

    // A predicted point not labeled yet, marked absent in review: a correction, with the prediction kept.
    const absent = await t.call('review.correct', {
      runId: predictRun.id,
      imageId: target.id,
      keypointId: tail,
      x: 0,
      y: 0,
      visibility: 'absent',
    });
    expect(absent).toMatchObject({ source: 'corrected', visibility: 'absent' });
    expect(absent.predicted?.runId).toBe(predictRun.id);

    const progress = await t.call('review.progress', { runId: predictRun.id });
    // The accepted point became a correction: corrections grow by two, accepted points not at all.
    expect(progress).toMatchObject({
      runId: predictRun.id,
      total: IMAGES,
      reviewed: start.reviewed,
      accepted: start.accepted,
      corrections: start.corrections + 2,
    });
    // The absent point's coordinates mean nothing: only the dragged one counts for the distance.
    expect(progress.meanCorrectionDistance).toBeCloseTo(
      Math.hypot(3 - accepted.predicted!.x, 4 - accepted.predicted!.y),
      6,
    );
    await t.call('review.markReviewed', { runId: predictRun.id, imageId: target.id });
    expect((await t.call('review.progress', { runId: predictRun.id })).reviewed).toBe(start.reviewed + 1);
    await t.call('review.markReviewed', { runId: predictRun.id, imageId: target.id, reviewed: false });
    expect((await t.call('review.progress', { runId: predictRun.id })).reviewed).toBe(start.reviewed);
  });

  it('refuses a correction outside the image, changing nothing', async () => {
    const target = unlabeled()[2]!;
    const before = databaseSnapshot(ws.projectDir);
    const outside = await apiError(
      t.call('review.correct', {
        runId: predictRun.id,
        imageId: target.id,
        keypointId: keypoints[0]!.id,
        x: target.width + 5,
        y: 2,
      }),
    );
    expect(outside.code).toBe('invalid');
    expect(outside.message).toMatch(new RegExp(`Point \\(${target.width + 5}, 2\\) lies outside image ${target.id}`));
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
  });

  it('two windows accepting the same point make one label and one undo step; a stale accept never replaces a correction', async () => {
    const other = testServices({ projectDir: ws.projectDir });
    try {
      const target = unlabeled()[3]!;
      const request = { runId: predictRun.id, imageId: target.id, keypointId: keypoints[0]!.id };
      const historyRows = () => databaseSnapshot(ws.projectDir).annotation_history!.length;
      const rowsBefore = historyRows();
      const [a, b] = await Promise.all([
        t.call('review.acceptPoint', request),
        other.call('review.acceptPoint', request),
      ]);
      expect(a).toEqual(b);
      expect(historyRows()).toBe(rowsBefore + 1);

      await t.call('review.correct', { ...request, x: 5, y: 5 });
      const stale = await apiError(other.call('review.acceptPoint', request));
      expect(stale.code).toBe('conflict');
      expect(stale.message).toMatch(/already has a corrected label: it is kept/);
      expect((await annotationsOf(target.id))[0]).toMatchObject({ source: 'corrected', x: 5, y: 5 });
    } finally {
      other.services.close();
    }
  });

  it('exports accepted and corrected points as labels, and their provenance as CSV and JSON', async () => {
    const csvFile = path.join(ws.dir, 'labels.csv');
    await t.call('io.export', { format: 'csv', file: csvFile });
    const labels = readFileSync(csvFile, 'utf8');
    const corrected = unlabeled()[1]!;
    expect(labels).toContain(`${corrected.relPath},nose,3,4,occluded`);

    const provenanceCsv = path.join(ws.dir, 'provenance.csv');
    const written = await t.call('io.export', { format: 'provenance-csv', file: provenanceCsv });
    const lines = readFileSync(provenanceCsv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'image,crop_x,crop_y,crop_w,crop_h,keypoint,predicted_x,predicted_y,x,y,visibility,source,run',
    );
    expect(lines.length - 1).toBe(written.count);
    const nose = (await annotationsOf(corrected.id)).find((a) => a.keypointId === keypoints[0]!.id)!;
    expect(lines).toContain(
      `${corrected.relPath},,,,,nose,${nose.predicted!.x},${nose.predicted!.y},3,4,occluded,corrected,${predictRun.id}`,
    );
    expect(lines).toContain(`${images[0]!.relPath},,,,,nose,,,10,12,visible,human,`);

    const provenanceJson = path.join(ws.dir, 'provenance.json');
    await t.call('io.export', { format: 'provenance-json', file: provenanceJson });
    const rows = (JSON.parse(readFileSync(provenanceJson, 'utf8')) as { rows: Record<string, unknown>[] }).rows;
    expect(rows.filter((r) => r.source === 'accepted').length).toBeGreaterThan(0);
    expect(rows).toContainEqual({
      image: corrected.relPath,
      crop: null,
      keypoint: 'tail',
      predictedX: expect.any(Number),
      predictedY: expect.any(Number),
      x: null,
      y: null,
      visibility: 'absent',
      source: 'corrected',
      run: predictRun.id,
    });
  });

  it('retrains with the last run settings on human, accepted and corrected labels; both are scored on the test split; undo across it says so', async () => {
    const { run, previousRunId } = await t.call('review.retrain', {});
    expect(previousRunId).toBe(trainRun.id);
    const retrained = await ended(run.id);
    expect(retrained.status).toBe('done');
    expect(retrained.config).toMatchObject({ head: 'heatmap', backbone: 'smallnet', inputSize: 48, steps: 3, seed: 1 });
    const before = trainRun.config.labelSources as Record<string, number>;
    const after = retrained.config.labelSources as Record<string, number>;
    expect(before).toEqual({ human: 8, accepted: 0, corrected: 0 });
    expect(after.accepted! + after.corrected!).toBeGreaterThan(0);
    expect(after.human).toBe(8);

    // The old and the new model scored on the same test split.
    // The queue scores a training in the same turn, after the run itself ends.
    const scoredOn = async (train: number) => {
      for (let tries = 0; tries < 1200; tries++) {
        const runs = await t.call('runs.list', {});
        const predictions = runs.filter((r) => r.kind === 'predict' && r.parentRunId === train).map((r) => r.id);
        const evaluation = runs.find((r) => r.kind === 'evaluate' && predictions.includes(r.parentRunId!));
        if (evaluation) return evaluation;
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    };
    for (const train of [trainRun.id, retrained.id]) {
      const evaluation = await scoredOn(train);
      expect(evaluation, `training run ${train} is evaluated`).toBeDefined();
      expect((await t.call('runs.get', { runId: evaluation!.id })).evaluations.length).toBeGreaterThan(0);
    }

    // Undo across the retrain: the label goes back, and the answer says the new model kept it.
    const target = unlabeled()[3]!;
    const undone = await t.call('history.undo', {});
    expect(undone!.imageId).toBe(target.id);
    expect(undone!.notice).toMatch(
      new RegExp(`Training run ${retrained.id} already trained on the labels this undo changed and keeps its model`),
    );
    expect(undone!.annotations[0]).toMatchObject({ source: 'accepted', predicted: { runId: predictRun.id } });
    const redone = await t.call('history.redo', {});
    expect(redone!.annotations[0]).toMatchObject({ source: 'corrected', x: 5, y: 5 });
  });

  it('suggests unlabeled images from the features of a run, after a features run of it', async () => {
    const none = await apiError(t.call('review.suggest', { runId: trainRun.id }));
    expect(none.message).toMatch(/has no features computed yet: start a features run/);
    const queued = await t.call('runs.start', { kind: 'features', settings: { runId: trainRun.id } });
    const features = await ended(queued.run.id);
    expect(features).toMatchObject({ status: 'done', parentRunId: trainRun.id });
    expect(features.metrics).toMatchObject({ computed: IMAGES });
    const current = (await t.call('images.list', {})).items;
    const open = new Set(current.filter((i) => i.labeledCount === 0).map((i) => i.id));
    const suggested = await t.call('review.suggest', { runId: trainRun.id, count: 3 });
    expect(suggested.length).toBeGreaterThan(0);
    expect(suggested.length).toBeLessThanOrEqual(3);
    for (const s of suggested) expect(open.has(s.image.id)).toBe(true);
    expect(new Set(suggested.map((s) => s.image.id)).size).toBe(suggested.length);
  });
});

describe('bad input to review', { timeout: 300_000 }, () => {
  it('refuses to predict with a failed or a deleted training run, and to review a deleted prediction run', async () => {
    const db = new Database(path.join(ws.projectDir, 'project.sqlite'));
    const failedId = Number(
      db
        .prepare(
          "INSERT INTO runs (kind, method, config, status, created_at, error) VALUES ('train', 'heatmap', '{}', 'failed', '2026-01-01', 'out of memory')",
        )
        .run().lastInsertRowid,
    );
    db.close();
    const failed = await apiError(t.call('runs.start', { kind: 'predict', settings: { runId: failedId } }));
    expect(failed.message).toBe(`Training run ${failedId} has no model: it is failed (out of memory).`);

    const { run: retrained } = await t.call('runs.start', { kind: 'predict', settings: { runId: trainRun.id } });
    const extra = await ended(retrained.id);
    const { deleted } = await t.call('runs.delete', { runId: trainRun.id, confirm: true });
    expect(deleted).toContain(predictRun.id);
    expect(deleted).toContain(extra.id);
    const gone = await apiError(t.call('runs.start', { kind: 'predict', settings: { runId: trainRun.id } }));
    expect(gone.code).toBe('not_found');
    const review = await apiError(t.call('review.list', { runId: predictRun.id }));
    expect(review.message).toBe(`No run ${predictRun.id} in this project: it may have been deleted.`);
    // The labels made from its predictions keep their provenance.
    const kept = (await t.call('annotations.list', { imageId: unlabeled()[1]!.id })) as Annotation[];
    expect(kept[0]!.predicted?.runId).toBe(predictRun.id);
  });

  it('refuses to accept a prediction on an image removed since, changing nothing', async () => {
    const latest = (await t.call('runs.list', { kind: 'train' })).filter((r) => r.status === 'done').at(-1)!;
    const predicted = await ended(
      (await t.call('runs.start', { kind: 'predict', settings: { runId: latest.id } })).run.id,
    );
    const target = unlabeled()[4]!;
    rmSync(path.join(ws.imageRoot, target.relPath));
    await t.call('project.relink', { imageRoot: ws.imageRoot });
    const before = databaseSnapshot(ws.projectDir);
    const refused = await apiError(t.call('review.acceptImage', { runId: predicted.id, imageId: target.id }));
    expect(refused.code).toBe('invalid');
    expect(refused.message).toMatch(new RegExp(`Image ${target.id} \\(${target.relPath}\\) cannot be labeled`));
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
    const listed = (await t.call('review.list', { runId: predicted.id })).items.find((i) => i.image.id === target.id);
    expect(listed?.image.problem).toBeTruthy();
  });
});
