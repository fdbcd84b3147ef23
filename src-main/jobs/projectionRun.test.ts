// Projection pretraining runs (paper 001 Sec. 3.2) end to end in real worker processes, at 32 px:
// over a random-init backbone and over a dense contrastive run, cancel then resume with a
// continuous curve, and the refusals: no --features, features without a backbone, a projection
// of a projection, projection settings on another method.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWeights } from '../ml/weights.js';
import { apiError, testServices, workspace, writePng, type Workspace } from '../services/testing/fixtures.js';
import { ProjectStore } from '../store/projectStore.js';
import { cancelRun } from './activeRuns.js';
import { preparePretraining, runPretraining, type PretrainRequest } from './pretrainRun.js';

let ws: Workspace;
let store: ProjectStore;

async function pretrain(req: PretrainRequest, onStep?: (done: number, runId: number) => void) {
  const prepared = await preparePretraining(store, req);
  let runId = 0;
  return runPretraining(store, prepared, { onRun: (id) => (runId = id), onProgress: (e) => onStep?.(e.done, runId) });
}

beforeAll(async () => {
  ws = workspace('ls-projection-');
  for (let i = 0; i < 8; i++) await writePng(path.join(ws.imageRoot, `img${i}.png`), 40 + 3 * i, 36 + i);
  const t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  t.services.close();
  store = ProjectStore.open(ws.projectDir);
});

afterAll(() => {
  store?.close();
  ws.cleanup();
});

describe('projection pretraining (--method projection --features <run>)', () => {
  it('projects a dense contrastive run, cancels, resumes with a continuous curve; its checkpoint holds backbone and w', async () => {
    const dense = await pretrain({ method: 'dense-contrastive', backbone: 'resnet18', size: 32, batch: 4, epochs: 1 });
    expect(dense.outcome.status).toBe('done');
    let cancelled = 0;
    const first = await pretrain(
      { method: 'projection', features: dense.runId, size: 32, batch: 4, dim: 16, epochs: 20 },
      (done, runId) => {
        if (done >= 2 && !cancelled) cancelRun(store, (cancelled = runId));
      },
    );
    expect(first.outcome.status).toBe('cancelled');
    const run = store.runs.require(first.runId);
    expect(run).toMatchObject({ method: 'projection' });
    expect(run.config).toMatchObject({ backbone: 'resnet18', features: dense.runId, dim: 16, inputSize: 32 });
    // A dense contrastive run trains conv2_x and conv3_x: those are projected.
    expect(run.config.projection).toMatchObject({ stages: ['conv2_x', 'conv3_x'], featuresRunId: dense.runId });
    const resumed = await pretrain({ resume: first.runId, minutes: 0.03 });
    expect(resumed.outcome.status).toBe('done');
    if (resumed.outcome.status !== 'done') return;
    const steps = store.runs.metrics(first.runId).loss!.map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i));
    expect(resumed.outcome.result.chanceLoss).toBeGreaterThan(resumed.outcome.result.finalLoss!);
    const { tensors } = readWeights(path.join(store.modelsDir, run.checkpointPath!));
    try {
      expect(tensors.get('projection.weight')!.shape).toEqual([64 + 128, 16]);
      const dense32 = readWeights(path.join(store.modelsDir, store.runs.require(dense.runId).checkpointPath!));
      expect(Array.from(tensors.get('backbone.layer1.0.conv1.weight')!.dataSync())).toEqual(
        Array.from(dense32.tensors.get('backbone.layer1.0.conv1.weight')!.dataSync()),
      );
      for (const t of dense32.tensors.values()) t.dispose();
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }, 120_000);

  it('refuses a missing --features, a run without a backbone, a projection of a projection, and projection flags elsewhere', async () => {
    const runsBefore = store.runs.list().length;
    expect((await apiError(pretrain({ method: 'projection' }))).message).toMatch(
      /projects the hypercolumn of another run: give --features <run-id>/,
    );
    const predict = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    expect((await apiError(pretrain({ method: 'projection', features: predict.id }))).message).toBe(
      `Run ${predict.id} is a prediction run: it has no backbone to describe images with (use a pretraining or training run, or 'random').`,
    );
    const unfinished = store.runs.create({ kind: 'pretrain', method: 'moco', config: { backbone: 'resnet18' } });
    expect((await apiError(pretrain({ method: 'projection', features: unfinished.id }))).message).toMatch(
      /has no backbone yet \(it is queued and wrote no checkpoint\)/,
    );
    const projection = store.runs.list().find((r) => r.method === 'projection')!;
    expect((await apiError(pretrain({ method: 'projection', features: projection.id }))).message).toMatch(
      /is itself a projection run/,
    );
    expect((await apiError(pretrain({ method: 'moco', dim: 64 }))).message).toMatch(
      /--dim is a projection setting, not one of moco/,
    );
    expect((await apiError(pretrain({ method: 'projection', features: 999 }))).code).toBe('not_found');
    expect(store.runs.list()).toHaveLength(runsBefore + 2); // the two records made above, nothing more
  });
});
