// Runs one job for a run record: forks the worker, marks the run running with the worker's
// backend line, persists the loss curve as it comes, forwards progress as ProgressEvents, and
// records the outcome (done / failed with the error / cancelled). The project is touched only
// here, in the parent: a worker that crashes or is killed loses nothing but its own run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ProgressEvent, RunKind } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import { claimRun } from './activeRuns.js';
import type { JobProgress } from './protocol.js';
import { JobCancelledError, runJob, type WorkerEntry } from './runner.js';

/** The production worker (workerMain.ts through tsx, or a bundled workerMain.js next to this file). */
export function workerEntry(): WorkerEntry {
  const bundled = path.join(import.meta.dirname, 'workerMain.js');
  return { script: existsSync(bundled) ? bundled : path.join(import.meta.dirname, 'workerMain.ts') };
}

export interface ExecuteOptions {
  onProgress?: (event: ProgressEvent) => void;
  /** Test seam: another worker script. */
  entry?: WorkerEntry;
  /** A queued run record (runs.start) to execute instead of creating a new one. */
  runId?: number;
}

export type RunOutcome<T> =
  | { status: 'done'; result: T; backend: string }
  | { status: 'failed'; error: string }
  | { status: 'cancelled' }
  | { status: 'paused' };

/**
 * Creates a run owned by this process, or, with `existing` (a queued run this process took),
 * gives that record the resolved configuration.
 */
export function createRun(
  store: ProjectStore,
  run: { kind: RunKind; method: string; config: Record<string, unknown>; parentRunId?: number | null },
  existing?: number,
): number {
  return store.transaction(() => {
    if (existing !== undefined) {
      store.runs.setConfig(existing, { method: run.method, config: run.config, parentRunId: run.parentRunId ?? null });
      store.runs.setOwner(existing, process.pid);
      return existing;
    }
    const created = store.runs.create(run);
    store.runs.setOwner(created.id, process.pid);
    return created.id;
  });
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "loss 0.0123, 41.2 img/s, ETA 1:05" from what the job reported. */
export function describeProgress(p: JobProgress): string | undefined {
  const parts = [
    p.message,
    p.loss === undefined ? undefined : `loss ${p.loss.toPrecision(3)}`,
    p.imagesPerSec === undefined ? undefined : `${p.imagesPerSec.toFixed(1)} img/s`,
    p.etaSec === undefined || p.step >= p.totalSteps ? undefined : `ETA ${formatDuration(p.etaSec)}`,
  ].filter((x): x is string => x !== undefined);
  return parts.length ? parts.join(', ') : undefined;
}

/** How a run's results reach the project. */
export interface RunPersistence<T, P = never> {
  /** Persists the result (in the same transaction as the run's 'done' status); returns the run's summary metrics. */
  done(result: T, backend: string): Record<string, unknown>;
  /** Persists a piece the job sent before its end (in a transaction of its own). */
  partial?(piece: P): void;
  /** Removes what `partial` stored, when the run ends without finishing (in the transaction that records how it ended). */
  discard?(): void;
}

/**
 * Executes job `kind` for run `runId` (created by createRun) and records how it ended, its
 * results persisted by `persist`. Never throws for a failed job: the outcome says what happened.
 */
export async function executeRun<T, P = never>(
  store: ProjectStore,
  runId: number,
  kind: string,
  payload: unknown,
  persist: RunPersistence<T, P>,
  options: ExecuteOptions = {},
): Promise<RunOutcome<T>> {
  const claim = claimRun(store, runId);
  const task = `${kind} run ${runId}`;
  const runKind = store.runs.require(runId).kind;
  let last: JobProgress = { step: 0, totalSteps: 1 };
  const emit = (p: JobProgress, point?: { step: number; values: Record<string, number> }): void => {
    const { message: _message, ...numbers } = p;
    options.onProgress?.({
      task,
      done: p.step,
      total: p.totalSteps,
      message: describeProgress(p),
      run: { runId, kind: runKind, status: 'running', ...numbers, ...(point ? { point } : {}) },
    });
  };
  try {
    const outcome = await runJob(options.entry ?? workerEntry(), kind, payload, {
      signal: claim.signal,
      onReady: (backend) => {
        store.runs.markRunning(runId, backend);
        emit(last);
      },
      onProgress: (p) => emit((last = p)),
      onMetric: (step, values) => {
        store.runs.addMetrics(runId, step, values);
        emit(last, { step, values });
      },
      onCheckpoint: (relPath) => store.runs.setCheckpoint(runId, relPath),
      onPartial: persist.partial && ((piece) => store.transaction(() => persist.partial!(piece as P))),
    });
    const result = outcome.result as T;
    store.transaction(() => store.runs.finish(runId, 'done', { metrics: persist.done(result, outcome.backend) }));
    return { status: 'done', result, backend: outcome.backend };
  } catch (err) {
    const end = (status: 'paused' | 'cancelled' | 'failed', error?: string): void =>
      store.transaction(() => {
        persist.discard?.();
        store.runs.finish(runId, status, error === undefined ? {} : { error });
      });
    if (err instanceof JobCancelledError) {
      if (claim.signal.reason === 'pause') {
        end('paused');
        return { status: 'paused' };
      }
      end('cancelled', 'cancelled by the user');
      return { status: 'cancelled' };
    }
    const error = err instanceof Error ? err.message : String(err);
    end('failed', error);
    return { status: 'failed', error };
  } finally {
    claim.release();
  }
}
