// A prediction run's results reach the project batch by batch as the worker sends them; a run
// that does not finish leaves none of them behind. The worker here is the runner's fixture,
// speaking the prediction job's wire format (the real job runs in runs.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src-shared/domain.js';
import { ProjectStore } from '../store/projectStore.js';
import { runPrediction } from './predictRun.js';

const entry = { script: path.join(import.meta.dirname, 'testdata/fixtureWorker.ts') };
let dir: string;
let store: ProjectStore;
let trainRun: RunRecord;
let imageId: number;
let keypointIds: number[];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-predict-run-'));
  store = ProjectStore.create(dir, { name: 'p', imageRoot: dir });
  store.images.insertScanned(
    ['a.png', 'b.png'].map((relPath) => ({
      relPath,
      hash: null,
      width: 80,
      height: 60,
      orientation: 1,
      problem: null,
    })),
  );
  imageId = store.images.getByPath('a.png')!.id;
  keypointIds = [store.keypoints.add('nose', '#ff0000'), store.keypoints.add('tail', '#00ff00')];
  const run = store.runs.create({ kind: 'train', method: 'heatmap', config: { keypointIds, labeledImageIds: [] } });
  store.runs.setCheckpoint(run.id, `run-${run.id}`);
  store.runs.finish(run.id, 'done');
  trainRun = store.runs.require(run.id);
});

afterEach(() => {
  delete process.env.FIXTURE_PREDICT_FAILS;
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runPrediction', () => {
  it('stores each batch the worker sends: points and the heatmap behind each', async () => {
    const { runId, outcome } = await runPrediction(store, trainRun, 'all', { entry });
    expect(outcome).toMatchObject({ status: 'done', result: { predicted: 1 } });
    expect(store.runs.predictions(runId)).toEqual([
      { runId, imageId, keypointId: keypointIds[0], x: 10, y: 20, confidence: 0.9 },
      { runId, imageId, keypointId: keypointIds[1], x: 30, y: 40, confidence: 0.4 },
    ]);
    expect(store.overlays.find(runId, imageId, keypointIds[1]!, 'heatmap')).toMatchObject({ width: 4, valueMax: 0.5 });
    expect(store.runs.require(runId).metrics).toMatchObject({ images: 2, predicted: 1 });
  });

  it('removes the batches it stored when the run fails after them', async () => {
    process.env.FIXTURE_PREDICT_FAILS = 'out of memory at batch 2';
    const { runId, outcome } = await runPrediction(store, trainRun, 'all', { entry });
    expect(outcome).toEqual({ status: 'failed', error: 'out of memory at batch 2' });
    expect(store.runs.require(runId)).toMatchObject({ status: 'failed', error: 'out of memory at batch 2' });
    expect(store.runs.predictions(runId)).toEqual([]);
    expect(store.overlays.find(runId, imageId, keypointIds[0]!, 'heatmap')).toBeUndefined();
  });

  it('stores no rows for a keypoint deleted since training', async () => {
    store.keypoints.delete(keypointIds[1]!);
    const { runId } = await runPrediction(store, trainRun, 'all', { entry });
    expect(store.runs.predictions(runId).map((p) => p.keypointId)).toEqual([keypointIds[0]]);
    expect(store.overlays.find(runId, imageId, keypointIds[1]!, 'heatmap')).toBeUndefined();
  });
});
