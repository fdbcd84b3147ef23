// The 'pretrain' job in this process (no worker): a checkpoint write that fails (a full disk)
// stops the run with a message and leaves the previous checkpoint loadable; a whole run leaks no
// tensors; cancel before the first step still checkpoints.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../../ml/engine.js';
import { disposeDenseContrastState, resolveDenseContrastConfig } from '../../ml/pretrain/denseContrast.js';
import { loadDenseContrastState } from '../../ml/pretrain/denseContrastCheckpoint.js';
import { disposeMocoState } from '../../ml/pretrain/moco.js';
import { loadMocoState } from '../../ml/pretrain/mocoCheckpoint.js';
import { resolveMocoConfig } from '../../ml/pretrain/mocoConfig.js';
import { writePng } from '../../services/testing/fixtures.js';
import type { PretrainFiles, PretrainPayload, PretrainSettings } from '../pretrainTypes.js';
import type { JobContext } from '../protocol.js';
import { PretrainCancelledError, runPretrainJob, type SaveState } from './pretrain.js';

let dir: string;
let images: PretrainPayload['images'];

beforeAll(async () => {
  await initEngine();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-pretrain-job-'));
  images = [];
  for (let i = 0; i < 16; i++) {
    const file = path.join(dir, 'images', `img${i}.png`);
    await writePng(file, 36 + 2 * i, 40);
    images.push({ path: file, crop: null });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function payload(name: string, over: Partial<PretrainSettings & PretrainFiles> = {}): PretrainPayload {
  const { config } = resolveMocoConfig(
    { backbone: { arch: 'smallnet', outChannels: 16 }, inputSize: 32, batchSize: 8, queueSize: 16, tps: null },
    images.length,
  );
  return {
    method: 'moco',
    config,
    seed: 5,
    images,
    epochs: 3,
    minutes: null,
    checkpointMinutes: 1e-6,
    resume: false,
    checkpointDir: path.join(dir, 'models', name),
    checkpointRel: name,
    curveLog: path.join(dir, `${name}.curve.jsonl`),
    workerPidFile: path.join(dir, `${name}.pid`),
    cacheDir: null,
    ...over,
  };
}

function context(signal = new AbortController().signal) {
  const checkpoints: number[] = [];
  const steps: number[] = [];
  const ctx: JobContext = {
    progress: () => undefined,
    metric: (step) => steps.push(step),
    checkpoint: (_rel, step) => checkpoints.push(step),
    partial: async () => undefined,
    signal,
    backend: 'test',
  };
  return { ctx, checkpoints, steps };
}

describe('pretrain job', () => {
  it('a failing checkpoint write (ENOSPC) fails the run and leaves the previous checkpoint intact', async () => {
    const p = payload('full-disk');
    let saves = 0;
    const fullDisk: SaveState = async (to, write) => {
      if (++saves === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      await write(to);
    };
    const { ctx, checkpoints } = context();
    await expect(runPretrainJob(p, ctx, fullDisk)).rejects.toThrow(
      /could not write the checkpoint at step 2 to .*full-disk \(ENOSPC: no space left on device, write\); the previous checkpoint \(step 1\) is intact/,
    );
    expect(checkpoints).toEqual([1]);
    const state = loadMocoState(p.checkpointDir);
    try {
      expect(state.step).toBe(1);
    } finally {
      disposeMocoState(state);
    }
  }, 60_000);

  it('runs to its epoch budget without leaking tensors, checkpointing the final step', async () => {
    const before = tf.memory().numTensors;
    const { ctx, checkpoints, steps } = context();
    const result = await runPretrainJob(payload('leak', { checkpointMinutes: 10 }), ctx);
    expect(result).toMatchObject({ steps: 6, startStep: 0, epochs: 3, stoppedBy: 'epochs', problems: [] });
    expect(steps).toEqual([0, 1, 2, 3, 4, 5]);
    expect(checkpoints).toEqual([6]);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('fits the cosine schedule to a minutes budget: the run ends annealed, stopped by the time budget', async () => {
    const rates: number[] = [];
    const ctx: JobContext = {
      ...context().ctx,
      metric: (_step, values) => rates.push(values.learningRate!),
    };
    // An epochs budget far beyond what 4 seconds hold: without fitting, the run would stop at the
    // deadline with the learning rate still near its peak.
    const p = payload('fitted', { epochs: 10_000, minutes: 4 / 60, checkpointMinutes: 10 });
    const result = await runPretrainJob(p, ctx);
    expect(result.stoppedBy).toBe('minutes');
    // The budget is spent, not cut short by a pessimistic early estimate of the pace.
    expect(result.seconds).toBeGreaterThan(0.85 * 4);
    expect(result.steps).toBeGreaterThan(5);
    expect(result.steps).toBeLessThan(10_000 * 2);
    const peak = Math.max(...rates);
    expect(peak).toBeGreaterThan(0.5 * p.config.learningRate);
    expect(rates.at(-1)!).toBeLessThan(0.2 * peak);
    const state = loadMocoState(p.checkpointDir);
    try {
      expect(state.totalSteps).toBeLessThan(10_000 * 2);
      expect(state.step).toBe(result.steps);
    } finally {
      disposeMocoState(state);
    }
  }, 60_000);

  it('dense-contrastive runs to its epoch budget without leaking tensors; its checkpoint resumes', async () => {
    const config = resolveDenseContrastConfig({ inputSize: 32, batchSize: 8, pointsPerImage: 16 }, images.length);
    const p: PretrainPayload = {
      ...payload('dense', { checkpointMinutes: 10, epochs: 2 }),
      method: 'dense-contrastive',
      config,
    };
    const before = tf.memory().numTensors;
    const { ctx, checkpoints, steps } = context();
    const result = await runPretrainJob(p, ctx);
    expect(result).toMatchObject({ steps: 4, startStep: 0, stoppedBy: 'epochs', problems: [] });
    expect(result.chanceLoss).toBeGreaterThan(Math.log(2 * 8 - 1));
    expect(steps).toEqual([0, 1, 2, 3]);
    expect(checkpoints).toEqual([4]);
    expect(tf.memory().numTensors).toBe(before);
    const state = loadDenseContrastState(p.checkpointDir);
    try {
      expect(state.step).toBe(4);
    } finally {
      disposeDenseContrastState(state);
    }
  }, 60_000);

  it('a cancel before the first step writes the step-0 checkpoint and stops', async () => {
    const abort = new AbortController();
    abort.abort();
    const { ctx, checkpoints } = context(abort.signal);
    await expect(runPretrainJob(payload('cancel'), ctx)).rejects.toBeInstanceOf(PretrainCancelledError);
    expect(checkpoints).toEqual([0]);
  }, 60_000);
});
