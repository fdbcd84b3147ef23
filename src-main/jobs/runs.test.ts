// Training, prediction and evaluation runs end to end through the services (jobs in a real
// worker process) on a small generated demo project, and the failure paths: a killed worker,
// cancel, damaged model files, runs left behind by a dead process, unknown or wrong run ids.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overlay, ProgressEvent, RunRecord } from '../../src-shared/domain.js';
import { createDemoProject } from '../cli/commands/demo.js';
import { apiError, databaseSnapshot, testServices, workspace, type Workspace } from '../services/testing/fixtures.js';
import { ProjectStore } from '../store/projectStore.js';

// Generating a frame costs ~0.1 s of CPU, a training step ~0.6 s: labels are cheap, steps are not.
const LABELS = 20;
const TEST_IMAGES = 12;
const KEYPOINTS = 11; // the demo critter's
/** About a minute of CPU: enough to find the critter in 640x480 frames from 20 labels. */
const STEPS = 100;

let ws: Workspace;
let t: ReturnType<typeof testServices>;
const progress: ProgressEvent[] = [];

/** The job worker processes this test process started. */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('workerMain'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Waits for a training step of `task` to be reported, then runs `action` once. */
function onStep(step: number, action: (event: ProgressEvent) => void): void {
  const seen = progress.length;
  const timer = setInterval(() => {
    const event = progress.slice(seen).find((e) => e.task.startsWith('train run') && e.done >= step);
    if (event) {
      clearInterval(timer);
      action(event);
    }
  }, 20);
}

beforeAll(async () => {
  ws = workspace('ls-runs-');
  t = testServices({ onProgress: (e) => progress.push(e) });
  await createDemoProject(t, ws.dir, { regime: 'frame', labels: LABELS, testImages: TEST_IMAGES, seed: 5 });
}, 300_000);

afterAll(() => {
  t.services.close();
  ws.cleanup();
});

// Minutes on a shared 2-core machine: the training is real.
describe('train -> predict -> evaluate on a generated demo project', { timeout: 600_000 }, () => {
  let trainRunId: number;

  it('trains in a worker, recording config, backend, loss curve and progress', async () => {
    const run = await t.call('runs.train', { head: 'heatmap', size: 112, steps: STEPS, labels: LABELS, seed: 1 });
    trainRunId = run.id;
    expect(run).toMatchObject({
      kind: 'train',
      method: 'heatmap',
      status: 'done',
      checkpointPath: `run-${run.id}`,
      error: null,
    });
    expect(run.backend).toMatch(/^backend=(tensorflow|cpu) /);
    expect(run.config).toMatchObject({
      head: 'heatmap',
      backbone: 'resnet18',
      inputSize: 112,
      fineTune: 'all',
      steps: STEPS,
      labels: LABELS,
    });
    expect(run.config.labeledImageIds).toHaveLength(LABELS);
    expect(run.metrics).toMatchObject({ examples: LABELS, problems: [] });

    const { curves } = await t.call('runs.get', { runId: run.id });
    const loss = curves.loss!.map((p) => p.value);
    expect(loss).toHaveLength(STEPS);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(loss.slice(-10))).toBeLessThan(mean(loss.slice(0, 10)));

    const steps = progress.filter((e) => e.task === `train run ${run.id}` && e.done > 0);
    expect(steps.at(-1)).toMatchObject({ done: STEPS, total: STEPS });
    expect(steps.find((e) => e.done === STEPS / 2)?.message).toMatch(/loss [\d.e-]+, [\d.]+ img\/s, ETA \d+:\d\d/);
  });

  it('predicts the test images in original image pixels, with confidences', async () => {
    const run = await t.call('runs.predict', { runId: trainRunId, split: 'test' });
    expect(run).toMatchObject({ kind: 'predict', status: 'done', parentRunId: trainRunId });
    const predictions = await t.call('predictions.list', { runId: run.id });
    expect(predictions).toHaveLength(TEST_IMAGES * KEYPOINTS);
    const testIds = new Set((await t.call('images.list', {})).items.filter((i) => i.split === 'test').map((i) => i.id));
    for (const p of predictions) {
      expect(testIds.has(p.imageId)).toBe(true);
      // 640x480 frames, letterboxed to 112 px: points left in input pixels would all be below 112.
      expect(p.x).toBeGreaterThanOrEqual(-1);
      expect(p.x).toBeLessThanOrEqual(641);
      expect(p.confidence).toBeGreaterThanOrEqual(0);
      expect(p.confidence).toBeLessThanOrEqual(1);
    }
    expect(Math.max(...predictions.map((p) => p.x))).toBeGreaterThan(112);

    const labeled = new Set((await t.call('runs.get', { runId: trainRunId })).run.config.labeledImageIds as number[]);
    let matched: Overlay | null = null;
    for (const p of predictions) {
      const query = { runId: run.id, imageId: p.imageId, keypointId: p.keypointId, kind: 'match' as const };
      if ((matched = await t.call('overlays.find', query))) break;
    }
    expect(labeled.has(matched!.reference!.imageId)).toBe(true);
    expect(matched!.match!.score).toBeGreaterThan(0);
    // The map made from the head's own pass is the one the run's features give when asked live
    // (the same descriptors on the heatmaps' grid), to float16's precision.
    const live = await t.call('matching.match', {
      features: trainRunId,
      referenceImageId: matched!.reference!.imageId,
      point: { x: matched!.reference!.x, y: matched!.reference!.y },
      targetImageId: matched!.imageId,
    });
    const liveMap = await t.call('overlays.get', { overlayId: live.overlayId });
    expect([liveMap.width, liveMap.height]).toEqual([28, 28]);
    expect([matched!.width, matched!.height]).toEqual([28, 28]);
    expect(Math.max(...liveMap.values.map((v, c) => Math.abs(v - matched!.values[c]!)))).toBeLessThan(2e-3);
    expect(Math.hypot(live.match.x - matched!.match!.x, live.match.y - matched!.match!.y)).toBeLessThan(1);
    // Each predicted point's heatmap is stored for review, with a peak where the point is: the
    // largest one, or another that fits the model's distance prior better.
    for (const p of predictions.slice(0, 5)) {
      const heatmap = (await t.call('overlays.find', {
        runId: run.id,
        imageId: p.imageId,
        keypointId: p.keypointId,
        kind: 'heatmap',
      }))!;
      expect(heatmap).toMatchObject({ width: 28, height: 28, reference: null, match: null }); // 112 px, stride 4
      const { width, height, values } = heatmap;
      const at = (i: number, c: number) => (i < 0 || i >= height || c < 0 || c >= width ? -1 : values[i * width + c]!);
      const cell = heatmap.bounds.w / width;
      const largest = Math.max(...values);
      const distances: number[] = [];
      for (let i = 0; i < height; i++)
        for (let c = 0; c < width; c++) {
          const neighbours = [-1, 0, 1].flatMap((di) => [-1, 0, 1].map((dc) => at(i + di, c + dc)));
          // a local maximum that holds some of the map's mass (not a flat stretch of zeros)
          if (at(i, c) < Math.max(...neighbours) || at(i, c) < 0.01 * largest) continue;
          // A peak in the letterbox padding names the nearest place on the 640x480 frame, as the point does.
          const x = Math.min(640, Math.max(0, heatmap.bounds.x + (c + 0.5) * cell));
          const y = Math.min(480, Math.max(0, heatmap.bounds.y + (i + 0.5) * cell));
          distances.push(Math.hypot(x - p.x, y - p.y));
        }
      expect(Math.min(...distances)).toBeLessThan(cell);
    }
    const store = ProjectStore.open(path.join(ws.dir, 'project'));
    try {
      const count = (kind: string) =>
        (
          store.db.prepare('SELECT count(*) AS n FROM overlays WHERE run_id = ? AND kind = ?').get(run.id, kind) as {
            n: number;
          }
        ).n;
      expect(count('heatmap')).toBe(TEST_IMAGES * KEYPOINTS);
      // And the matching map from the most similar of the run's labeled images, for every point it labels.
      expect(count('match')).toBeGreaterThan(TEST_IMAGES * KEYPOINTS * 0.5);
    } finally {
      store.close();
    }
  });

  it('beats the mean-shape baseline on the held-out images and records the evaluation', async () => {
    const report = await t.call('runs.evaluate', { runId: trainRunId, split: 'test' });
    expect(report).toMatchObject({
      trainRunId,
      split: 'test',
      images: TEST_IMAGES,
      normalisation: 'pair',
      pckAlpha: 0.05,
    });
    expect(Object.keys(report.model.perKeypoint)).toHaveLength(KEYPOINTS);
    expect(report.model.pixelError).toBeLessThan(0.8 * report.baseline.pixelError!);
    expect(report.model.nme).toBeLessThan(report.baseline.nme!);
    expect(report.backend).toMatch(/^backend=/);
    expect(report.timings.trainSeconds).toBeGreaterThan(0);
    expect(report.timings.predictSeconds).toBeGreaterThan(0);
    // It scored the prediction run made above instead of predicting again.
    const runs = await t.call('runs.list', {});
    expect(runs.filter((r) => r.kind === 'predict')).toHaveLength(1);
    const { run, evaluations } = await t.call('runs.get', { runId: report.evaluationRunId });
    expect(run).toMatchObject({ kind: 'evaluate', status: 'done', parentRunId: report.predictRunId });
    const pixel = evaluations.find((e) => e.metric === 'pixelError');
    expect(pixel?.value).toBeCloseTo(report.model.pixelError!, 6);
    expect(Object.keys(pixel!.perKeypoint!)).toHaveLength(KEYPOINTS);
    expect(evaluations.map((e) => e.metric)).toContain('baseline.pck');
  });

  it('predicting every image describes the matching references from its first batch, as reading them apart does', async () => {
    const [apart] = (await t.call('runs.list', { kind: 'predict' })).filter((r) => r.config.split === 'test');
    // The 20 labeled references are among every image: the first batch holds them, and its taps describe them.
    const together = await t.call('runs.predict', { runId: trainRunId, split: 'all' });
    expect(together.status).toBe('done');
    const tests = (await t.call('images.list', {})).items.filter((i) => i.split === 'test');
    const keypoints = (await t.call('schema.get', {})).keypoints;
    let compared = 0;
    for (const image of tests.slice(0, 4))
      for (const keypoint of keypoints.slice(0, 4)) {
        const query = { imageId: image.id, keypointId: keypoint.id, kind: 'match' as const };
        const a = await t.call('overlays.find', { ...query, runId: apart!.id });
        const b = await t.call('overlays.find', { ...query, runId: together.id });
        expect(b === null).toBe(a === null);
        if (!a || !b) continue;
        expect(b.reference).toEqual(a.reference);
        expect(Math.max(...b.values.map((v, c) => Math.abs(v - a.values[c]!)))).toBeLessThan(2e-3);
        expect(Math.hypot(b.match!.x - a.match!.x, b.match!.y - a.match!.y)).toBeLessThan(1);
        compared++;
      }
    expect(compared).toBeGreaterThan(8);
  });
});

describe('failures leave the project whole', { timeout: 300_000 }, () => {
  /** The training after the killed one; its model files are damaged further down. */
  let retrained: RunRecord;
  const quick = { head: 'heatmap', backbone: 'smallnet', size: 64, labels: 4, seed: 2 } as const;

  it('records a worker killed mid-training as failed, keeps the labels, and trains again after', async () => {
    const before = databaseSnapshot(ws.projectDir);
    onStep(2, () => {
      for (const pid of workerPids()) process.kill(pid, 'SIGKILL');
    });
    const error = await apiError(t.call('runs.train', { ...quick, steps: 100_000 }));
    expect(error.message).toMatch(/Training run \d+ failed: the job process was killed by SIGKILL/);
    const runId = (error.details as { runId: number }).runId;
    const { run } = await t.call('runs.get', { runId });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/killed by SIGKILL/);
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);

    retrained = await t.call('runs.train', { ...quick, steps: 2 });
    expect(retrained.status).toBe('done');
  });

  it('cancels a running training on request', async () => {
    onStep(2, (event) => void t.call('runs.cancel', { runId: Number(event.task.split(' ').at(-1)) }));
    const error = await apiError(t.call('runs.train', { ...quick, steps: 100_000 }));
    expect(error.code).toBe('conflict');
    expect(error.message).toMatch(/was cancelled/);
    const { run } = await t.call('runs.get', { runId: (error.details as { runId: number }).runId });
    expect(run.status).toBe('cancelled');
    expect(await t.call('runs.cancel', { runId: run.id })).toEqual({ cancelled: false });
  });

  it('fails prediction clearly when the model files are damaged, and keeps the training run', async () => {
    const trained = retrained;
    const weights = path.join(ws.projectDir, 'models', trained.checkpointPath!, 'weights.bin');
    const bytes = readFileSync(weights);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(weights, bytes);
    const error = await apiError(t.call('runs.predict', { runId: trained.id, split: 'test' }));
    expect(error.message).toMatch(
      /Prediction run \d+ failed: .*weights\.bin is corrupted: its checksum does not match/,
    );
    const { run } = await t.call('runs.get', { runId: trained.id });
    expect(run.status).toBe('done');
    const failed = (await t.call('runs.list', { kind: 'predict' })).at(-1)!;
    expect(failed).toMatchObject({ status: 'failed', parentRunId: trained.id });
    expect(await t.call('predictions.list', { runId: failed.id })).toEqual([]);
  });

  it('fails runs left running by a process that is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const store = ProjectStore.open(ws.projectDir);
    let orphan: number;
    let lost: number;
    try {
      orphan = store.runs.create({ kind: 'train', method: 'heatmap', config: {} }).id;
      store.runs.setOwner(orphan, dead);
      store.runs.markRunning(orphan, 'backend=cpu');
      // Owned by this process, which is not running it.
      lost = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} }).id;
      store.runs.setOwner(lost, process.pid);
      // the batches it stored before it was lost
      const [image] = store.images.list('all', 0, 1).items;
      const [keypoint] = store.keypoints.list();
      store.runs.addPredictions(lost, [{ imageId: image!.id, keypointId: keypoint!.id, x: 1, y: 2, confidence: 0.5 }]);
    } finally {
      store.close();
    }
    const runs = await t.call('runs.list', {});
    expect(runs.find((r) => r.id === orphan)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(`pid ${dead}\\) ended before the run finished`),
    });
    expect(runs.find((r) => r.id === lost)).toMatchObject({ status: 'failed' });
    expect(await t.call('predictions.list', { runId: lost })).toEqual([]);
    expect(runs.filter((r) => r.status === 'running' || r.status === 'queued')).toEqual([]);
  });

  it('names unknown run ids and runs of the wrong kind', async () => {
    expect((await apiError(t.call('runs.predict', { runId: 9999 }))).code).toBe('not_found');
    expect((await apiError(t.call('runs.evaluate', { runId: 9999 }))).code).toBe('not_found');
    expect((await apiError(t.call('runs.get', { runId: 9999 }))).code).toBe('not_found');
    expect((await apiError(t.call('runs.train', { head: 'heatmap', features: 9999 }))).message).toMatch(
      /No run 9999.*pretraining run/,
    );
    const trainRun = (await t.call('runs.list', { kind: 'train' })).find((r) => r.status === 'done')!;
    expect((await apiError(t.call('runs.train', { head: 'heatmap', features: trainRun.id }))).message).toMatch(
      `Run ${trainRun.id} is a training run, not a pretraining run`,
    );
    expect((await apiError(t.call('predictions.list', { runId: trainRun.id }))).message).toMatch(
      /predictions belong to prediction runs/,
    );
    const failedRun = (await t.call('runs.list', { kind: 'train' })).find((r) => r.status === 'failed')!;
    expect((await apiError(t.call('runs.predict', { runId: failedRun.id }))).message).toMatch(
      `Training run ${failedRun.id} has no model: it is failed`,
    );

    // A pretraining run whose checkpoint is not there yet (the pretraining commands write them).
    const store = ProjectStore.open(ws.projectDir);
    const pretrain = store.runs.create({ kind: 'pretrain', method: 'moco', config: {} }).id;
    store.close();
    expect((await apiError(t.call('runs.train', { head: 'heatmap', features: pretrain }))).message).toMatch(
      `Pretraining run ${pretrain} has no checkpoint`,
    );
  });
});
