import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { JobCancelledError, JobFailedError, runJob, SpareWorker } from './runner.js';
import type { JobProgress } from './protocol.js';

const entry = { script: join(import.meta.dirname, 'testdata/fixtureWorker.ts') };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Waits until `holds()`, failing after `ms`. */
async function until(holds: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`still not so after ${ms} ms`);
    await sleep(20);
  }
}

describe('runJob', () => {
  it('streams progress and metrics from the child and returns its result', async () => {
    const progress: JobProgress[] = [];
    const metrics: number[] = [];
    const outcome = await runJob(
      entry,
      'count',
      { steps: 5 },
      {
        onProgress: (p) => progress.push(p),
        onMetric: (step) => metrics.push(step),
      },
    );
    expect(outcome).toEqual({ result: { stoppedAt: 5 }, backend: 'fixture' });
    expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(metrics).toEqual([1, 2, 3, 4, 5]);
  });

  it('starts a TypeScript worker from any working directory (the CLI runs anywhere)', async () => {
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      expect((await runJob(entry, 'count', { steps: 1 })).result).toEqual({ stoppedAt: 1 });
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports an exception in the job as a failure with its message', async () => {
    await expect(runJob(entry, 'throws', {})).rejects.toThrow(/bad labels: image 7/);
  });

  it('turns a killed child into a failure naming the signal and what it printed', async () => {
    const error = await runJob(entry, 'dies', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toMatch(/killed by SIGKILL[\s\S]*about to die/);
  });

  it("leaves TensorFlow's unhideable start-up notices out of what the child printed", async () => {
    const forwarded: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
      forwarded.push(String(text));
      return true;
    });
    try {
      const error = await runJob(entry, 'noisyDies', {}).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/killed by SIGKILL before finishing:\ndisk almost full$/);
    } finally {
      write.mockRestore();
    }
    expect(forwarded.join('')).toBe('disk almost full\n');
  });

  it('rejects an unknown job kind clearly', async () => {
    await expect(runJob(entry, 'nope', {})).rejects.toThrow(/unknown job kind 'nope'/);
  });

  it('lets a job stop cleanly on cancel and keep its partial result', async () => {
    const abort = new AbortController();
    const outcome = await runJob(
      entry,
      'count',
      { steps: 10_000 },
      {
        signal: abort.signal,
        onProgress: (p) => p.step === 3 && abort.abort(),
      },
    );
    const { stoppedAt } = outcome.result as { stoppedAt: number };
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    expect(stoppedAt).toBeLessThan(10_000);
  });

  it('hands over the pieces a job sends before its result, in order', async () => {
    const pieces: unknown[] = [];
    const outcome = await runJob(entry, 'pieces', { count: 4 }, { onPartial: (piece) => pieces.push(piece) });
    expect(pieces).toEqual([0, 1, 2, 3].map((piece) => ({ piece })));
    expect(outcome.result).toMatchObject({ sent: 4 });
  });

  it('stops the job and fails it when storing a piece fails', async () => {
    const pieces: unknown[] = [];
    const error = await runJob(
      entry,
      'pieces',
      { count: 50 },
      {
        onPartial: (piece) => {
          if (pieces.push(piece) === 2) throw new Error('database or disk is full');
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toBe("storing the job's results failed: database or disk is full");
    expect(pieces).toHaveLength(2);
  });

  it('returns the result without waiting for the worker to exit, and kills one that does not', async () => {
    const outcome = await runJob(entry, 'pieces', { count: 0, linger: true }, { cancelGraceMs: 300 });
    const { pid } = outcome.result as { pid: number };
    expect(alive(pid)).toBe(true);
    await until(() => !alive(pid), 5000);
  });

  it('kills a job that ignores cancel after the grace period', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const run = runJob(
      entry,
      'ignoresCancel',
      {},
      { signal: abort.signal, cancelGraceMs: 200, onReady: () => abort.abort() },
    );
    await expect(run).rejects.toBeInstanceOf(JobCancelledError);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

type Started = { pid: number; engineStartedAt: number; warmedAt: number | null; jobStartedAt: number };

describe('SpareWorker', () => {
  it('runs the next job in a worker whose engine started ahead, then starts a fresh spare', async () => {
    const spare = new SpareWorker(entry);
    try {
      const waiting = spare.pid!;
      await sleep(1500);
      const first = (await runJob({ ...entry, spare }, 'whenStarted', {})).result as Started;
      expect(first.pid).toBe(waiting);
      expect(first.jobStartedAt - first.engineStartedAt).toBeGreaterThan(0.5);
      // its work ahead ran after its engine, before the job
      expect(first.warmedAt).toBeGreaterThanOrEqual(first.engineStartedAt);
      expect(first.warmedAt).toBeLessThan(first.jobStartedAt);
      // a fresh process for every job: the next spare, started once the job's process has exited, is another one
      await until(() => spare.pid !== undefined, 5000);
      expect(spare.pid).not.toBe(waiting);
      const cold = (await runJob(entry, 'whenStarted', {})).result as Started;
      expect(cold.jobStartedAt - cold.engineStartedAt).toBeLessThan(0.5);
      expect(cold.warmedAt).toBeNull();
    } finally {
      spare.close();
    }
  });

  it('replaces a spare that died, and close stops the one waiting', async () => {
    const spare = new SpareWorker(entry);
    const dead = spare.pid!;
    process.kill(dead, 'SIGKILL');
    await sleep(300);
    const outcome = (await runJob({ ...entry, spare }, 'whenStarted', {})).result as Started;
    expect(outcome.pid).not.toBe(dead);
    await until(() => spare.pid !== undefined, 5000);
    const next = spare.pid!;
    expect(alive(next)).toBe(true);
    spare.close();
    await sleep(500);
    expect(alive(next)).toBe(false);
    expect(spare.pid).toBeUndefined();
  });

  it('does not keep its parent alive, and exits with it', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const parent = spawn(
      process.execPath,
      ['--import', tsx, join(import.meta.dirname, 'testdata/spareParent.ts'), entry.script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => parent.on('exit', resolve));
    expect(code).toBe(0);
    const sparePid = Number(out.trim());
    expect(sparePid).toBeGreaterThan(0);
    // the spare may still be loading its script when the parent leaves; it goes once it sees it
    for (let waited = 0; alive(sparePid) && waited < 15_000; waited += 250) await sleep(250);
    expect(alive(sparePid)).toBe(false);
  }, 30_000);
});
