// Pretraining runs end to end (real worker processes, a tiny SmallNet at 32 px): a CLI process
// SIGKILLed after a checkpoint and resumed, cancel then resume, the plug-in into train --features,
// and every bad input: empty folder, non-images, one image, tiny images, zero budgets, resuming
// the wrong run.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src-shared/domain.js';
import { buildBackbone } from './kinds/landmarkModel.js';
import { readWeights } from '../ml/weights.js';
import {
  apiError,
  databaseSnapshot,
  testServices,
  workspace,
  writePng,
  type Workspace,
} from '../services/testing/fixtures.js';
import { ProjectStore } from '../store/projectStore.js';
import { cancelRun } from './activeRuns.js';
import { preparePretraining, runPretraining, type PretrainRequest } from './pretrainRun.js';
import { prepareTraining } from './trainRun.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const IMAGES = 16;
/** 16 images, batch 8: 2 steps per epoch. */
const SMALL: PretrainRequest = { method: 'moco', backbone: 'smallnet', size: 32, batch: 8, queue: 16 };

let ws: Workspace;
let store: ProjectStore;

/** Step recorded in a checkpoint folder's metadata. */
function checkpointStep(dir: string): number {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
    userDefinedMetadata: { metadata: { step: number } };
  };
  return json.userDefinedMetadata.metadata.step;
}

async function pretrain(req: PretrainRequest, onProgress?: (e: ProgressEvent, runId: number) => void) {
  const prepared = await preparePretraining(store, req);
  let runId = 0;
  return runPretraining(store, prepared, { onRun: (id) => (runId = id), onProgress: (e) => onProgress?.(e, runId) });
}

/** Loss steps of a run: must be exactly 0..n-1 (no gap, no duplicate). */
function lossSteps(runId: number): number[] {
  return store.runs.metrics(runId).loss!.map((p) => p.step);
}

beforeAll(async () => {
  ws = workspace('ls-pretrain-');
  for (let i = 0; i < IMAGES; i++)
    await writePng(path.join(ws.imageRoot, i % 2 ? 'sub' : '', `img${i}.png`), 40 + 3 * i, 36 + i);
  const t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  const kp = await t.call('keypoints.add', { name: 'nose' });
  const images = (await t.call('images.list', {})).items;
  await t.call('annotations.set', { imageId: images[0]!.id, keypointId: kp.keypoints[0]!.id, x: 10, y: 12 });
  t.services.close();
  store = ProjectStore.open(ws.projectDir);
});

afterAll(() => {
  store?.close();
  ws.cleanup();
});

describe('budget, checkpoint and resume', () => {
  it('resumes a run whose CLI process was SIGKILLed after a checkpoint: steps continue, the loss curve has no gap', async () => {
    const labelsBefore = databaseSnapshot(ws.projectDir);
    const args = [
      'bin/landmark-studio.mjs',
      'pretrain',
      ws.projectDir,
      '--method',
      'moco',
      '--backbone',
      'smallnet',
      '--size',
      '32',
      '--batch',
      '8',
      '--queue',
      '16',
      '--epochs',
      '8',
      '--checkpoint-minutes',
      '0.001',
    ];
    const cli = spawn(process.execPath, args, { cwd: REPO, stdio: 'ignore' });
    const exited = new Promise((resolve) => cli.on('exit', resolve));
    const checkpointDir = path.join(ws.projectDir, 'models', 'run-1');
    // Kill once a checkpoint past step 3 exists (the run has 16 steps).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          if (checkpointStep(checkpointDir) >= 3) {
            clearInterval(timer);
            cli.kill('SIGKILL');
            resolve();
          }
        } catch {
          /* no checkpoint yet */
        }
      }, 30);
      cli.on('exit', () => (clearInterval(timer), reject(new Error('the CLI ended before it was killed'))));
    });
    await exited;
    const killedAt = checkpointStep(checkpointDir);
    const run = store.runs.require(1);
    expect(run).toMatchObject({ kind: 'pretrain', method: 'moco', status: 'running', checkpointPath: 'run-1' });

    const { runId, outcome } = await pretrain({ method: 'moco', resume: 1 });
    expect(runId).toBe(1);
    expect(outcome.status).toBe('done');
    if (outcome.status !== 'done') return;
    expect(outcome.result.startStep).toBeGreaterThanOrEqual(killedAt); // the orphan's worker may have saved once more before exiting
    expect(outcome.result.startStep).toBeLessThan(16);
    expect(outcome.result.steps).toBe(16);
    expect(outcome.result.stoppedBy).toBe('epochs');
    expect(lossSteps(1)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(checkpointStep(checkpointDir)).toBe(16);
    expect(store.runs.require(1)).toMatchObject({ status: 'done', checkpointPath: 'run-1', error: null });
    // Resuming a run that trained all its epochs says so.
    expect((await apiError(pretrain({ method: 'moco', resume: 1 }))).message).toMatch(/already trained its 8 epochs/);
    expect(databaseSnapshot(ws.projectDir)).toEqual(labelsBefore);
  }, 90_000);

  it('cancel writes a checkpoint and ends "cancelled"; resume continues from it; a minutes budget stops the run', async () => {
    let cancelledRun = 0;
    // 1000 epochs (2000 steps): only the resume's 3-second budget can stop it, however fast the machine.
    const first = await pretrain({ ...SMALL, epochs: 1000, checkpointMinutes: 10 }, (e, runId) => {
      if (e.done >= 3 && !cancelledRun) cancelRun(store, (cancelledRun = runId));
    });
    expect(first.outcome.status).toBe('cancelled');
    const dir = path.join(store.modelsDir, `run-${first.runId}`);
    const savedAt = checkpointStep(dir);
    expect(savedAt).toBeGreaterThanOrEqual(3);
    expect(store.runs.require(first.runId)).toMatchObject({
      status: 'cancelled',
      checkpointPath: `run-${first.runId}`,
    });

    // Without --method a resume continues the run's own method (MoCo), not the default's.
    const resumed = await pretrain({ resume: first.runId, minutes: 0.05 });
    expect(resumed.outcome.status).toBe('done');
    if (resumed.outcome.status !== 'done') return;
    expect(resumed.outcome.result.startStep).toBe(savedAt);
    expect(resumed.outcome.result.stoppedBy).toBe('minutes');
    expect(resumed.outcome.result.steps).toBeGreaterThan(savedAt);
    expect(resumed.outcome.result.steps).toBeLessThan(2000);
    expect(checkpointStep(dir)).toBe(resumed.outcome.result.steps);
    const steps = lossSteps(first.runId);
    expect(steps.slice(0, resumed.outcome.result.steps)).toEqual(
      Array.from({ length: resumed.outcome.result.steps }, (_, i) => i),
    );
  }, 90_000);
});

describe('train --features <pretraining run>', () => {
  it("builds the training backbone from the run's pretrained query encoder", async () => {
    const { runId, outcome } = await pretrain({ ...SMALL, epochs: 2 });
    expect(outcome.status).toBe('done');
    const prepared = prepareTraining(store, { head: 'heatmap', backbone: 'smallnet', features: runId, seed: 3 });
    expect(prepared.features).toEqual({
      kind: 'pretrained',
      runId,
      checkpointDir: path.join(store.modelsDir, `run-${runId}`),
    });
    const pretrained = buildBackbone(prepared.spec, prepared.features);
    const random = buildBackbone(prepared.spec, { kind: 'random' });
    const { tensors } = readWeights(path.join(store.modelsDir, `run-${runId}`));
    try {
      for (const name of ['conv1.weight', 'conv3.weight']) {
        const saved = tensors.get(`query.backbone.${name}`)!.dataSync();
        expect(Array.from(pretrained.weights.get(name)!.dataSync())).toEqual(Array.from(saved));
        expect(Array.from(random.weights.get(name)!.dataSync())).not.toEqual(Array.from(saved));
      }
    } finally {
      pretrained.dispose();
      random.dispose();
      for (const t of tensors.values()) t.dispose();
    }
  }, 60_000);
});

describe('dense contrastive pretraining (--method dense-contrastive)', () => {
  it('trains a ResNet-18 to conv3_x, resumes after cancel with a continuous curve, and plugs into train --features', async () => {
    const DENSE: PretrainRequest = { method: 'dense-contrastive', backbone: 'resnet18', size: 32, batch: 8 };
    let cancelledRun = 0;
    const first = await pretrain({ ...DENSE, epochs: 30, checkpointMinutes: 10 }, (e, runId) => {
      if (e.done >= 3 && !cancelledRun) cancelRun(store, (cancelledRun = runId));
    });
    expect(first.outcome.status).toBe('cancelled');
    const dir = path.join(store.modelsDir, `run-${first.runId}`);
    const savedAt = checkpointStep(dir);
    expect(savedAt).toBeGreaterThanOrEqual(3);
    expect(store.runs.require(first.runId)).toMatchObject({ method: 'dense-contrastive' });
    expect(store.runs.require(first.runId).config).toMatchObject({ inputSize: 32, batchSize: 8, imageCount: IMAGES });

    const resumed = await pretrain({ method: 'dense-contrastive', resume: first.runId, minutes: 0.05 });
    expect(resumed.outcome.status).toBe('done');
    if (resumed.outcome.status !== 'done') return;
    expect(resumed.outcome.result.startStep).toBe(savedAt);
    expect(resumed.outcome.result.steps).toBeGreaterThan(savedAt);
    expect(resumed.outcome.result.chanceLoss).toBeGreaterThan(Math.log(2 * 8 - 1)); // >= 8 points over 8 images
    const steps = lossSteps(first.runId);
    expect(steps.slice(0, resumed.outcome.result.steps)).toEqual(
      Array.from({ length: resumed.outcome.result.steps }, (_, i) => i),
    );
    expect(store.runs.metrics(first.runId).negativeSimilarity).toHaveLength(steps.length);

    const prepared = prepareTraining(store, { head: 'heatmap', backbone: 'resnet18', features: first.runId, seed: 3 });
    const pretrained = buildBackbone(prepared.spec, prepared.features);
    const { tensors } = readWeights(dir);
    try {
      for (const name of ['conv1.weight', 'layer2.1.conv2.weight', 'layer4.1.conv2.weight']) {
        expect(Array.from(pretrained.weights.get(name)!.dataSync())).toEqual(
          Array.from(tensors.get(`backbone.${name}`)!.dataSync()),
        );
      }
    } finally {
      pretrained.dispose();
      for (const t of tensors.values()) t.dispose();
    }
  }, 120_000);

  it('refuses a queue, a backbone without conv2_x/conv3_x, and resuming a MoCo run as dense', async () => {
    expect(
      (await apiError(pretrain({ method: 'dense-contrastive', backbone: 'resnet18', queue: 64 }))).message,
    ).toMatch(/--queue is a MoCo setting; dense-contrastive pretraining has no queue/);
    expect((await apiError(pretrain({ method: 'dense-contrastive', backbone: 'smallnet' }))).message).toMatch(
      /Cannot pretrain on the project's images: backbone smallnet has no stage "conv3_x".*use resnet18 or resnet50/,
    );
    const moco = store.runs.create({ kind: 'pretrain', method: 'moco', config: { backbone: 'smallnet' } });
    expect((await apiError(pretrain({ method: 'dense-contrastive', resume: moco.id }))).message).toMatch(
      `Run ${moco.id} is a moco pretraining run; it cannot be resumed with --method dense-contrastive`,
    );
  });
});

describe('bad input', () => {
  it('an empty folder, a folder of non-images, or one image: a clear error, no run recorded', async () => {
    const runsBefore = store.runs.list().length;
    const empty = path.join(ws.dir, 'empty');
    mkdirSync(empty);
    expect((await apiError(pretrain({ ...SMALL, folder: empty }))).message).toMatch(
      /No usable images in the folder .*empty \(looked for .*\.png/,
    );

    const junk = path.join(ws.dir, 'junk');
    mkdirSync(junk);
    writeFileSync(path.join(junk, 'notes.txt'), 'not an image');
    writeFileSync(path.join(junk, 'fake.png'), 'not a png either');
    expect((await apiError(pretrain({ ...SMALL, folder: junk }))).message).toMatch(
      /No usable images .*1 file\(s\) could not be read: fake\.png/,
    );

    const one = path.join(ws.dir, 'one');
    await writePng(path.join(one, 'a.png'), 40, 40);
    expect((await apiError(pretrain({ ...SMALL, folder: one }))).message).toMatch(
      /MoCo needs at least 2 images .* the folder has 1/,
    );
    expect((await apiError(pretrain({ ...SMALL, batch: 64 }))).message).toMatch(
      /batch size 64 is larger than the 16 images/,
    );
    expect(store.runs.list()).toHaveLength(runsBefore);
  });

  it('images smaller than the crop are upscaled and train; unreadable ones are reported and skipped', async () => {
    const tiny = path.join(ws.dir, 'tiny');
    for (let i = 0; i < 8; i++) await writePng(path.join(tiny, `t${i}.png`), 8 + i, 10);
    writeFileSync(path.join(tiny, 'broken.jpg'), Buffer.alloc(0));
    const { runId, outcome } = await pretrain({ ...SMALL, folder: tiny, epochs: 2 });
    expect(outcome.status).toBe('done');
    const run = store.runs.require(runId);
    expect(run.config).toMatchObject({ folder: tiny, imageCount: 8, inputSize: 32, queueSize: 8 });
    expect(run.metrics?.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^broken\.jpg: left out/),
        expect.stringMatching(/queue of 16 negatives clamped to 8/),
      ]),
    );
    expect(lossSteps(runId)).toEqual([0, 1]);
  }, 60_000);

  it('a budget of zero, and resuming a run of another kind, method or backbone, are refused', async () => {
    expect((await apiError(pretrain({ ...SMALL, epochs: 0 }))).message).toMatch(
      /budget of 0 epochs cannot train anything/,
    );
    expect((await apiError(pretrain({ ...SMALL, minutes: 0 }))).message).toMatch(/budget of 0 minutes/);
    const train = store.runs.create({ kind: 'train', method: 'heatmap', config: {} });
    expect((await apiError(pretrain({ method: 'moco', resume: train.id }))).message).toMatch(
      `Run ${train.id} is a training run, not a pretraining run`,
    );
    const byol = store.runs.create({ kind: 'pretrain', method: 'byol', config: { backbone: 'resnet18' } });
    expect((await apiError(pretrain({ method: 'moco', resume: byol.id }))).message).toMatch(
      `Run ${byol.id} is a byol pretraining run; it cannot be resumed with --method moco`,
    );
    const moco = store.runs.list().find((r) => r.kind === 'pretrain' && r.method === 'moco')!;
    expect((await apiError(pretrain({ method: 'moco', resume: moco.id, backbone: 'resnet50' }))).message).toMatch(
      /pretrains a smallnet backbone; it cannot be resumed with --backbone resnet50/,
    );
    expect((await apiError(pretrain({ method: 'moco', resume: moco.id, batch: 4 }))).message).toMatch(
      /--batch cannot change when resuming/,
    );
    expect((await apiError(pretrain({ method: 'moco', resume: 999 }))).code).toBe('not_found');
    const fresh = store.runs.create({ kind: 'pretrain', method: 'moco', config: { backbone: 'smallnet' } });
    store.runs.finish(fresh.id, 'failed', { error: 'x' });
    expect((await apiError(pretrain({ method: 'moco', resume: fresh.id }))).message).toMatch(
      /never wrote a checkpoint/,
    );
  });
});

describe('runs.pretrain (the API method the app and the demo call)', () => {
  it('validates the payload, pretrains, and returns the finished run', async () => {
    const t = testServices();
    try {
      await t.call('project.open', { projectDir: ws.projectDir });
      const runsBefore = store.runs.list().length;
      await expect(t.callRaw('runs.pretrain', { method: 'simclr' })).rejects.toMatchObject({ code: 'invalid' });
      await expect(t.callRaw('runs.pretrain', { minutes: -1 })).rejects.toMatchObject({ code: 'invalid' });
      await expect(t.callRaw('runs.pretrain', { epochs: 1, learningRate: 1 })).rejects.toMatchObject({
        code: 'invalid',
      });
      expect(store.runs.list()).toHaveLength(runsBefore);

      // Without a method: dense contrastive, the pretraining with the best measured few-shot gain.
      const run = await t.call('runs.pretrain', { backbone: 'resnet18', size: 32, batch: 8, epochs: 1 });
      expect(run).toMatchObject({ kind: 'pretrain', method: 'dense-contrastive', status: 'done' });
      expect(run.config).toMatchObject({ backbone: 'resnet18', inputSize: 32, batchSize: 8 });
      expect(run.config).not.toHaveProperty('queueSize');
      expect(run.checkpointPath).toBeTruthy();
      expect(lossSteps(run.id)).toEqual([0, 1]);
    } finally {
      t.services.close();
    }
  }, 60_000);
});
