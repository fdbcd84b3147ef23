// The parent side of a job: forks a worker process (never blocking the Electron main thread or
// the host), forwards its progress, cancels on request, and turns a crash of the child (an
// exception, an out-of-memory kill, SIGKILL) into a JobFailedError with what the child said.
import { fork } from 'node:child_process';
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
}

export interface JobHandlers {
  onReady?(backend: string): void;
  onProgress?(progress: JobProgress): void;
  onMetric?(step: number, values: Record<string, number>): void;
  onCheckpoint?(path: string, step: number): void;
  signal?: AbortSignal;
  /** Milliseconds between a cancel request and SIGKILL if the job does not stop by itself. */
  cancelGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface JobOutcome {
  result: unknown;
  backend: string;
}

/** tsx's loader by absolute URL: a bare `--import tsx` resolves from the working directory, which may be anywhere. */
const tsxLoader = (): string => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function runJob(
  entry: WorkerEntry,
  kind: string,
  payload: unknown,
  handlers: JobHandlers = {},
): Promise<JobOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(entry.script, entry.args ?? [], {
      execArgv: entry.script.endsWith('.ts') ? ['--import', tsxLoader()] : [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...handlers.env },
      serialization: 'advanced',
    });
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
        case 'done':
          outcome = { ok: true, result: message.result };
          break;
        case 'error':
          outcome = { ok: false, error: new JobFailedError(message.message, message.stack) };
          break;
      }
    });
    child.on('error', (error) => {
      outcome ??= { ok: false, error: new JobFailedError(`could not start the job worker: ${error.message}`) };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      stderr.flush();
      handlers.signal?.removeEventListener('abort', cancel);
      if (cancelled && (!outcome || !outcome.ok)) return reject(new JobCancelledError());
      if (outcome?.ok) return resolve({ result: outcome.result, backend });
      if (outcome) return reject(outcome.error);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const said = stderrTail.trim().split('\n').slice(-5).join('\n');
      reject(new JobFailedError(`the job process ${how} before finishing${said ? `:\n${said}` : ''}`));
    });

    child.send({ type: 'start', kind, payload } satisfies ParentMessage);
  });
}
