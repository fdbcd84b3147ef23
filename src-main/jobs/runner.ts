// The parent side of a job: forks a worker process (never blocking the Electron main thread or
// the host), or takes the one started ahead (SpareWorker), forwards its progress, cancels on
// request, and turns a crash of the child (an exception, an out-of-memory kill, SIGKILL) into a
// JobFailedError with what the child said.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { JobProgress, ParentMessage, WorkerMessage } from './protocol.js';
import { filterLines, TENSORFLOW_NOTICES } from './workerStderr.js';

export class JobFailedError extends Error {
  constructor(
    message: string,
    override readonly cause?: string,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

export class JobCancelledError extends Error {
  constructor() {
    super('the job was cancelled');
    this.name = 'JobCancelledError';
  }
}

export interface WorkerEntry {
  /** Script the child runs (a .ts file runs through tsx; bundled builds pass a .js file). */
  script: string;
  args?: string[];
  /** A worker of this entry started ahead of the next job (the app and `serve` keep one). */
  spare?: SpareWorker;
}

export interface JobHandlers {
  onReady?(backend: string): void;
  onProgress?(progress: JobProgress): void;
  onMetric?(step: number, values: Record<string, number>): void;
  onCheckpoint?(path: string, step: number): void;
  /** Persists a piece of the result; if it throws, the job is stopped and fails with that error. */
  onPartial?(piece: unknown): void;
  signal?: AbortSignal;
  /** Milliseconds between a cancel request and SIGKILL if the job does not stop by itself. */
  cancelGraceMs?: number;
}

export interface JobOutcome {
  result: unknown;
  backend: string;
}

/** tsx's loader by absolute URL: a bare `--import tsx` resolves from the working directory, which may be anywhere. */
const tsxLoader = (): string => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function forkWorker(entry: WorkerEntry): ChildProcess {
  return fork(entry.script, entry.args ?? [], {
    execArgv: entry.script.endsWith('.ts') ? ['--import', tsxLoader()] : [],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    // TensorFlow's start-up banners: quiet unless the user asks for them (read at process start).
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
    serialization: 'advanced',
  });
}

/**
 * One worker process started ahead of the next job, its compute engine loaded (the `warm`
 * message), so a job does not wait for a process and TensorFlow to start (about 0.8 s here).
 * Each job still gets a fresh process (a crash or a leak stays with its job): after a job, the
 * next spare starts. A waiting spare does not keep the parent alive, and exits with it.
 */
export class SpareWorker {
  private child: ChildProcess | null = null;
  private closed = false;

  constructor(private readonly entry: Omit<WorkerEntry, 'spare'>) {
    this.refill();
  }

  /** The waiting worker's process id (none waits: undefined). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The waiting worker (now the caller's), or null when none is ready to take. */
  take(): ChildProcess | null {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null || !child.connected) {
      child?.kill();
      return null;
    }
    child.ref();
    child.channel?.ref();
    return child;
  }

  /** Starts the next spare unless one waits or the pool is closed. */
  refill(): void {
    if (this.closed || this.child) return;
    const child = forkWorker(this.entry);
    child.on('error', () => child.kill());
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    // What it prints before a job takes it (the engine's start-up) waits in the pipe for that job.
    child.send({ type: 'warm' } satisfies ParentMessage);
    child.unref();
    child.channel?.unref();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    this.child = child;
  }

  /** Stops the waiting worker and starts no more. */
  close(): void {
    this.closed = true;
    this.child?.kill();
    this.child = null;
  }
}

export function runJob(
  entry: WorkerEntry,
  kind: string,
  payload: unknown,
  handlers: JobHandlers = {},
): Promise<JobOutcome> {
  return new Promise((resolve, reject) => {
    const child = entry.spare?.take() ?? forkWorker(entry);
    (child.stderr as { ref?: () => void } | null)?.ref?.();
    let stderrTail = '';
    const stderr = filterLines(TENSORFLOW_NOTICES, (text) => {
      process.stderr.write(text);
      stderrTail = (stderrTail + text).slice(-4000);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => stderr.push(text));
    child.stderr?.on('end', () => stderr.flush());

    let backend = 'unknown';
    let outcome: { ok: true; result: unknown } | { ok: false; error: Error } | null = null;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;

    const cancel = (): void => {
      cancelled = true;
      if (child.connected) child.send({ type: 'cancel' } satisfies ParentMessage);
      killTimer = setTimeout(() => child.kill('SIGKILL'), handlers.cancelGraceMs ?? 10_000);
    };
    if (handlers.signal?.aborted) cancel();
    else handlers.signal?.addEventListener('abort', cancel, { once: true });

    child.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'ready':
          backend = message.backend;
          handlers.onReady?.(backend);
          break;
        case 'progress':
          handlers.onProgress?.(message.progress);
          break;
        case 'metric':
          handlers.onMetric?.(message.step, message.values);
          break;
        case 'checkpoint':
          handlers.onCheckpoint?.(message.path, message.step);
          break;
        case 'partial':
          if (outcome) break;
          try {
            handlers.onPartial?.(message.piece);
          } catch (err) {
            outcome = {
              ok: false,
              error: new JobFailedError(`storing the job's results failed: ${(err as Error).message}`),
            };
            child.kill('SIGKILL');
          }
          break;
        case 'done':
          if (outcome) break;
          outcome = { ok: true, result: message.result };
          // The result is complete: the caller stores it while the worker tears TensorFlow down
          // (~0.1 s), rather than after. A worker that does not exit by itself is killed.
          settle();
          killTimer ??= setTimeout(() => child.kill('SIGKILL'), handlers.cancelGraceMs ?? 10_000).unref();
          break;
        case 'error':
          if (outcome) break;
          outcome = { ok: false, error: new JobFailedError(message.message, message.stack) };
          break;
      }
    });
    child.on('error', (error) => {
      outcome ??= { ok: false, error: new JobFailedError(`could not start the job worker: ${error.message}`) };
    });
    let settled = false;
    function settle(exit?: { code: number | null; signal: NodeJS.Signals | null }): void {
      if (settled) return;
      settled = true;
      handlers.signal?.removeEventListener('abort', cancel);
      if (cancelled && (!outcome || !outcome.ok)) return reject(new JobCancelledError());
      if (outcome?.ok) return resolve({ result: outcome.result, backend });
      if (outcome) return reject(outcome.error);
      const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
      const said = stderrTail.trim().split('\n').slice(-5).join('\n');
      reject(new JobFailedError(`the job process ${how} before finishing${said ? `:\n${said}` : ''}`));
    }
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      stderr.flush();
      settle({ code, signal });
      // After the caller's synchronous handling of the outcome (a continuation of this promise):
      // a spare starting TensorFlow meanwhile would take the CPU from storing the result.
      setImmediate(() => entry.spare?.refill());
    });

    child.send({ type: 'start', kind, payload } satisfies ParentMessage);
  });
}
