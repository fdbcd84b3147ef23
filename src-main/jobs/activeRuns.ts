// Runs this process is executing (so they can be cancelled or paused), and the clean-up of runs
// another process left 'running' or 'queued' when it died: each run records its owner's pid, and
// a run whose owner is gone can never finish, so it is marked failed, or paused when it is a
// pretraining run with a checkpoint to resume from. Runs waiting in the queue have no owner yet
// and are left alone.
import type { ProjectStore } from '../store/projectStore.js';

const active = new Map<string, AbortController>();
const key = (store: ProjectStore, runId: number): string => `${store.dir}\0${runId}`;

/** Registers a run executing in this process; returns its abort signal and the release function. */
export function claimRun(store: ProjectStore, runId: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  active.set(key(store, runId), controller);
  return { signal: controller.signal, release: () => active.delete(key(store, runId)) };
}

/** How a stop was asked for: 'pause' ends a pretraining run 'paused' (resumable), 'cancel' ends it 'cancelled'. */
export type StopReason = 'cancel' | 'pause';

/** Asks a run of this process to stop; false when this process is not running it. */
export function cancelRun(store: ProjectStore, runId: number, reason: StopReason = 'cancel'): boolean {
  const controller = active.get(key(store, runId));
  controller?.abort(reason);
  return controller !== undefined;
}

/** Runs this process's queue took and is preparing (not yet executing): not orphans. */
const held = new Set<string>();

/** Marks a run this process took from the queue as its own until `release` (its job has started or it ended). */
export function holdRun(store: ProjectStore, runId: number): () => void {
  held.add(key(store, runId));
  return () => held.delete(key(store, runId));
}

/** Whether this process is executing the run. */
export function isActive(store: ProjectStore, runId: number): boolean {
  return active.has(key(store, runId));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fails unfinished runs whose owner process is dead (or this process, which no longer runs them). */
export function failOrphanedRuns(store: ProjectStore): number {
  let failed = 0;
  for (const run of store.runs.unfinished()) {
    const mine = run.ownerPid === process.pid;
    const ours = active.has(key(store, run.id)) || held.has(key(store, run.id));
    if (mine ? ours : run.ownerPid !== null && processAlive(run.ownerPid)) continue;
    const who = run.ownerPid === null ? 'the process that ran it' : `the process that ran it (pid ${run.ownerPid})`;
    const record = store.runs.require(run.id);
    if (record.kind === 'pretrain' && record.checkpointPath !== null) {
      store.runs.finish(run.id, 'paused', {
        error: `interrupted: ${who} ended before the run finished; resume it from its last checkpoint`,
      });
      continue;
    }
    store.transaction(() => {
      // A prediction run stores its batches as they come: an interrupted one keeps none of them.
      if (record.kind === 'predict') store.runs.clearPredictions(run.id);
      store.runs.finish(run.id, 'failed', { error: `interrupted: ${who} ended before the run finished` });
    });
    failed++;
  }
  return failed;
}
