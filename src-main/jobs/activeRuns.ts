// Runs this process is executing (so they can be cancelled), and the clean-up of runs another
// process left 'running' or 'queued' when it died: each run records its owner's pid, and a run
// whose owner is gone can never finish, so it is marked failed.
import type { ProjectStore } from '../store/projectStore.js';

const active = new Map<string, AbortController>();
const key = (store: ProjectStore, runId: number): string => `${store.dir}\0${runId}`;

/** Registers a run executing in this process; returns its abort signal and the release function. */
export function claimRun(store: ProjectStore, runId: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  active.set(key(store, runId), controller);
  return { signal: controller.signal, release: () => active.delete(key(store, runId)) };
}

/** Asks a run of this process to stop; false when this process is not running it. */
export function cancelRun(store: ProjectStore, runId: number): boolean {
  const controller = active.get(key(store, runId));
  controller?.abort();
  return controller !== undefined;
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
    if (mine ? active.has(key(store, run.id)) : run.ownerPid !== null && processAlive(run.ownerPid)) continue;
    const who = run.ownerPid === null ? 'the process that ran it' : `the process that ran it (pid ${run.ownerPid})`;
    store.runs.finish(run.id, 'failed', { error: `interrupted: ${who} ended before the run finished` });
    failed++;
  }
  return failed;
}
