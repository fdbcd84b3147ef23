// The run queue through the services, with real job workers (a tiny SmallNet at 32 px): runs
// queued at once run in order, one at a time; pause checkpoints and resume continues; a host
// SIGKILLed mid-run leaves the queue and the run records consistent and the pretraining
// resumable; and the bad inputs the Pretrain and Train screens can send.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest } from '../../src-shared/api.js';
import type { ProgressEvent, RunRecord } from '../../src-shared/domain.js';
import { apiError, testServices, workspace, writePng, type Workspace } from '../services/testing/fixtures.js';
import { ProjectStore } from '../store/projectStore.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const IMAGES = 16;
/** 16 images, batch 8: 2 steps per epoch. */
const PRETRAIN = { method: 'moco', backbone: 'smallnet', size: 32, batch: 8, queue: 16 } as const;
const TRAIN = { head: 'heatmap', backbone: 'smallnet', size: 48, steps: 3, seed: 1 } as const;

let ws: Workspace;
let t: ReturnType<typeof testServices>;
const events: ProgressEvent[] = [];

const run = (id: number): Promise<RunRecord> => t.call('runs.get', { runId: id }).then((d) => d.run);
const start = (req: ApiRequest<'runs.start'>) => t.call('runs.start', req);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statusOf = (id: number): Promise<string> => run(id).then((r) => r.status);
const ended = (id: number) => async () => {
  const r = await run(id);
  return ['done', 'failed', 'cancelled', 'paused'].includes(r.status) ? r : undefined;
};

beforeAll(async () => {
  ws = workspace('ls-queue-');
  for (let i = 0; i < IMAGES; i++) await writePng(path.join(ws.imageRoot, `img${i}.png`), 40 + 3 * i, 36 + i);
  t = testServices({ runQueue: true, onProgress: (e) => events.push(e) });
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  const schema = await t.call('keypoints.add', { name: 'nose' });
  const images = (await t.call('images.list', {})).items;
  for (const image of images.slice(0, 6))
    await t.call('annotations.set', { imageId: image.id, keypointId: schema.keypoints[0]!.id, x: 12, y: 10 });
}, 60_000);

afterAll(() => {
  t.services.close();
  ws.cleanup();
});

describe('the run queue', { timeout: 300_000 }, () => {
  it('runs two runs queued at once in order, one at a time, the training on the pretraining ahead of it', async () => {
    const first = await start({ kind: 'pretrain', settings: { ...PRETRAIN, epochs: 2 } });
    const second = await start({ kind: 'train', settings: { ...TRAIN, features: first.run.id } });
    expect(first.position).toBe(0);
    expect(second.position).toBe(1);
    expect(second.run).toMatchObject({ status: 'queued', parentRunId: first.run.id });

    // While the pretraining computes, the training waits.
    await until('the pretraining to run', async () =>
      (await statusOf(first.run.id)) === 'running' ? true : undefined,
    );
    expect(await statusOf(second.run.id)).toBe('queued');

    const pretrained = await until('the pretraining', ended(first.run.id));
    const trained = await until('the training', ended(second.run.id));
    expect(pretrained.status).toBe('done');
    expect(trained).toMatchObject({ status: 'done', parentRunId: first.run.id });
    expect(trained.config).toMatchObject({ features: first.run.id, steps: 3 });
    expect(Date.parse(trained.startedAt!)).toBeGreaterThanOrEqual(Date.parse(pretrained.finishedAt!));

    // Every window heard the status changes and the loss curve points, tagged with the run.
    const statuses = events.filter((e) => e.run?.runId === first.run.id).map((e) => e.run!.status);
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('done');
    const points = events.filter((e) => e.run?.runId === first.run.id && e.run.point).map((e) => e.run!.point!.step);
    expect(points).toEqual([0, 1, 2, 3]);
  });

  it('pauses a running pretraining at a checkpoint and resumes it at the back of the queue', async () => {
    const { run: started } = await start({ kind: 'pretrain', settings: { ...PRETRAIN, epochs: 1000 } });
    const seen = events.length;
    await until('two steps', () =>
      events.slice(seen).some((e) => e.run?.runId === started.id && (e.run.step ?? 0) >= 2) ? true : undefined,
    );
    const paused = await t.call('runs.pause', { runId: started.id });
    expect(paused.status).toBe('paused');
    expect(paused.checkpointPath).not.toBeNull();
    const stepsAtPause = (await t.call('runs.get', { runId: started.id })).curves.loss!.length;

    const resumed = await t.call('runs.resume', { runId: started.id, minutes: 0.05 });
    expect(resumed.position).toBe(0);
    const done = await until('the resumed run', ended(started.id));
    expect(done.status).toBe('done');
    expect(done.metrics).toMatchObject({ stoppedBy: 'minutes' });
    const curve = (await t.call('runs.get', { runId: started.id })).curves.loss!;
    // The resumed run went on from the checkpoint: steps continue without a gap.
    expect(curve.length).toBeGreaterThan(stepsAtPause);
    expect(curve.map((p) => p.step)).toEqual(curve.map((_, i) => i));
  });

  it('cancels a waiting run before it starts, and refuses to cancel a run that ended', async () => {
    const busy = await start({ kind: 'pretrain', settings: { ...PRETRAIN, epochs: 1000 } });
    const waiting = await start({ kind: 'train', settings: TRAIN });
    expect(waiting.position).toBe(1);
    await t.call('runs.cancel', { runId: waiting.run.id });
    expect(await statusOf(waiting.run.id)).toBe('cancelled');
    await t.call('runs.cancel', { runId: busy.run.id });
    const cancelled = await run(busy.run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.startedAt).not.toBeNull();
    expect((await run(waiting.run.id)).startedAt).toBeNull(); // it never ran
    const again = await apiError(t.call('runs.cancel', { runId: waiting.run.id }));
    expect(again.code).toBe('conflict');
    expect(again.message).toMatch(/already ended \(cancelled\): there is nothing to cancel/);
  });

  it('refuses bad settings at once with a clear message, queueing nothing', async () => {
    const before = (await t.call('runs.list', {})).length;
    const empty = path.join(ws.dir, 'empty-folder');
    mkdirSync(empty, { recursive: true });
    const noImages = await apiError(start({ kind: 'pretrain', settings: { ...PRETRAIN, folder: empty } }));
    expect(noImages.message).toMatch(/No usable images in the folder .*empty-folder/);

    const zero = await apiError(start({ kind: 'pretrain', settings: { ...PRETRAIN, minutes: 0 } }));
    expect(zero.code).toBe('invalid');
    expect(zero.message).toMatch(/settings\.minutes/);

    const features = (await t.call('runs.list', { kind: 'pretrain' })).find((r) => r.status === 'done')!;
    const otherBackbone = await apiError(
      start({ kind: 'train', settings: { ...TRAIN, backbone: 'resnet18', features: features.id } }),
    );
    expect(otherBackbone.message).toMatch(/trains a smallnet backbone, this training a resnet18/);

    const notPretraining = (await t.call('runs.list', { kind: 'train' })).find((r) => r.status === 'cancelled')!;
    expect(
      (await apiError(start({ kind: 'train', settings: { ...TRAIN, features: notPretraining.id } }))).message,
    ).toMatch(/is a training run, not a pretraining run/);

    // A pretraining run that failed before writing a checkpoint has no features to give.
    const other = ProjectStore.open(ws.projectDir);
    let failed: number;
    try {
      failed = other.runs.create({ kind: 'pretrain', method: 'moco', config: { backbone: 'smallnet' } }).id;
      other.runs.finish(failed, 'failed', { error: 'out of memory' });
    } finally {
      other.close();
    }
    expect((await apiError(start({ kind: 'train', settings: { ...TRAIN, features: failed } }))).message).toMatch(
      /Pretraining run \d+ is failed and has no checkpoint: its features cannot be used/,
    );

    const tooMany = await apiError(start({ kind: 'train', settings: { ...TRAIN, labels: 50 } }));
    expect(tooMany.message).toMatch(/Asked for 50 labeled images but the train split has 6/);
    expect((await t.call('runs.list', {})).length).toBe(before + 1); // the failed run made above
  });

  it('fails a pretraining whose folder disappears mid-run with a clear message, keeping its checkpoint', async () => {
    const folder = path.join(ws.dir, 'vanishing');
    for (let i = 0; i < 8; i++) await writePng(path.join(folder, `v${i}.png`), 44 + i, 40);
    const { run: started } = await start({
      kind: 'pretrain',
      settings: { ...PRETRAIN, folder, epochs: 1000, checkpointMinutes: 0.01 },
    });
    await until('a checkpoint', async () => ((await run(started.id)).checkpointPath ? true : undefined));
    rmSync(folder, { recursive: true, force: true });
    const stopped = await until('the run to notice', ended(started.id));
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatch(
      /no full batch of 8 readable images .*8 of them are missing: was the folder moved or deleted\? Put it back and resume the run/,
    );
    expect(stopped.checkpointPath).not.toBeNull(); // resumable once the folder is back
  });

  it('deletes an ended run with its files only after confirmation', async () => {
    const pretrain = (await t.call('runs.list', { kind: 'pretrain' })).find((r) => r.status === 'done')!;
    const folder = path.join(ws.projectDir, 'models', pretrain.checkpointPath!);
    expect(existsSync(folder)).toBe(true);
    const unconfirmed = await apiError(t.call('runs.delete', { runId: pretrain.id }));
    expect(unconfirmed.code).toBe('confirm_required');
    expect(existsSync(folder)).toBe(true);
    const { deleted } = await t.call('runs.delete', { runId: pretrain.id, confirm: true });
    expect(deleted).toEqual([pretrain.id]);
    expect(existsSync(folder)).toBe(false);
    expect((await apiError(t.call('runs.get', { runId: pretrain.id }))).code).toBe('not_found');
    // The training on its features keeps its model, without the link.
    const trained = (await t.call('runs.list', { kind: 'train' })).find((r) => r.status === 'done')!;
    expect(trained.parentRunId).toBeNull();
  });
});

describe('a host killed mid-run', { timeout: 300_000 }, () => {
  it('leaves waiting runs queued and the interrupted pretraining paused, resumable, after a restart', async () => {
    t.services.close();
    const token = 'queue-test-token-0123456789';
    const host = spawn(
      process.execPath,
      ['bin/landmark-studio.mjs', 'serve', ws.projectDir, '--port', '0', '--token', token],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        host.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /running at (http:\/\/\S+?)\?token=/.exec(out);
          if (match) resolve(match[1]!);
        });
        host.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      const call = async (method: string, body: unknown) => {
        const res = await fetch(`${url}api/${method}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        const wire = (await res.json()) as { ok: boolean; result: { run: RunRecord } };
        if (!wire.ok) throw new Error(JSON.stringify(wire));
        return wire.result;
      };
      const pretrain = await call('runs.start', {
        kind: 'pretrain',
        settings: { ...PRETRAIN, epochs: 1000, checkpointMinutes: 0.01 },
      });
      const train = await call('runs.start', { kind: 'train', settings: { ...TRAIN, features: pretrain.run.id } });
      expect(train.run.status).toBe('queued');
      const db = new Database(path.join(ws.projectDir, 'project.sqlite'), { readonly: true });
      try {
        await until('a checkpoint', () => {
          const row = db.prepare('SELECT checkpoint_path FROM runs WHERE id = ?').get(pretrain.run.id) as {
            checkpoint_path: string | null;
          };
          return row.checkpoint_path ?? undefined;
        });
      } finally {
        db.close();
      }
    } finally {
      // Reaped before going on: a killed child that is not yet reaped still answers kill(pid, 0).
      const exited = new Promise((resolve) =>
        host.exitCode !== null || host.signalCode !== null ? resolve(null) : host.once('exit', resolve),
      );
      host.kill('SIGKILL');
      await exited;
    }

    // A restarted app (its queue opening the project) finds everything as it was left.
    t = testServices({ runQueue: true, onProgress: (e) => events.push(e) });
    const runs = await t.call('project.open', { projectDir: ws.projectDir }).then(() => t.call('runs.list', {}));
    const [pretrain, train] = runs.slice(-2);
    expect(pretrain).toMatchObject({ kind: 'pretrain', status: 'paused' });
    expect(pretrain!.error).toMatch(/interrupted.*resume it from its last checkpoint/);
    // The queued training starts on the paused run's checkpoint; the pretraining resumes on request.
    expect(['queued', 'running', 'done']).toContain(train!.status);
    expect(await until('the queued training', ended(train!.id))).toMatchObject({ status: 'done' });
    await t.call('runs.resume', { runId: pretrain!.id, minutes: 0.05 });
    expect(await until('the resumed pretraining', ended(pretrain!.id))).toMatchObject({ status: 'done' });
    rmSync(path.join(ws.dir, 'empty-folder'), { recursive: true, force: true });
  });
});
