import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { JobCancelledError, JobFailedError, runJob } from './runner.js';
import type { JobProgress } from './protocol.js';

const entry = { script: join(import.meta.dirname, 'testdata/fixtureWorker.ts') };

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
