// The child-process side of a job: waits for one `start` message, runs the named job from the
// registry, streams progress back and exits. Cancel aborts the job's signal.
import type { JobContext, JobRegistry, ParentMessage, WorkerMessage } from './protocol.js';

function send(message: WorkerMessage, then?: (error?: Error | null) => void): void {
  process.send?.(message, undefined, {}, then);
}

/** Disconnecting once the last message is flushed lets the process exit on its own. */
const leave = (): void => process.disconnect?.();

/**
 * `warmAhead`: what a spare does once its engine runs and the job kinds are imported, unless a job
 * came first.
 */
export function runWorker(
  registry: JobRegistry,
  initBackend: () => Promise<string>,
  warmAhead?: () => Promise<void>,
): void {
  if (!process.send) throw new Error('a job worker must be started by the job runner (no IPC channel)');
  const abort = new AbortController();
  let started = false;
  let finished = false;
  let backend: Promise<string> | null = null;
  const startBackend = (): Promise<string> => (backend ??= initBackend());
  // A worker whose parent died has no one to report to: stop rather than compute for nobody.
  process.on('disconnect', () => finished || process.exit(1));
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cancel') abort.abort();
    // A spare also imports every job kind ahead (~0.1 s each through tsx), whichever comes next.
    if (message.type === 'warm')
      startBackend()
        .then(() => Promise.all(Object.values(registry).map((load) => load())))
        .then(() => (started ? undefined : warmAhead?.()))
        .catch(() => undefined); // a job reports the failure
    if (message.type === 'start') void start(message.kind, message.payload);
  });

  async function start(kind: string, payload: unknown): Promise<void> {
    started = true;
    try {
      const load = registry[kind];
      if (!load) throw new Error(`unknown job kind '${kind}' (known: ${Object.keys(registry).join(', ')})`);
      const [job, engine] = await Promise.all([load(), startBackend()]);
      send({ type: 'ready', backend: engine });
      const ctx: JobContext = {
        progress: (progress) => send({ type: 'progress', progress }),
        metric: (step, values) => send({ type: 'metric', step, values }),
        checkpoint: (path, step) => send({ type: 'checkpoint', path, step }),
        partial: (piece) =>
          new Promise<void>((resolve, reject) =>
            send({ type: 'partial', piece }, (error?: Error | null) => (error ? reject(error) : resolve())),
          ),
        signal: abort.signal,
        backend: engine,
      };
      const result = await job(payload, ctx);
      finished = true;
      send({ type: 'done', result }, leave);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      finished = true;
      send({ type: 'error', message: err.message, stack: err.stack }, leave);
    }
  }
}
