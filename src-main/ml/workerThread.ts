// Starts a worker thread from its entry's name: in a built app the bundled `<name>.js`, an entry
// beside workerMain.js in out/main (this code may sit in out/main/chunks); from source (tests,
// benches, the dev app) `<name>.ts` in the caller's folder, with tsx's loader registered in the
// thread first (the parent thread's tsx loader does not reach worker threads).
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startWorkerThread(name: string, sourceDir: string, workerData: unknown): Worker {
  const here = import.meta.dirname;
  const bundled = [here, path.dirname(here)]
    .map((dir) => path.join(dir, `${name}.js`))
    .find((file) => existsSync(file));
  if (bundled) return new Worker(bundled, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = pathToFileURL(path.join(sourceDir, `${name}.ts`)).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Lowest scheduling priority for the calling thread (Linux: a thread is a task with its own id),
 * for threads that should use cores TensorFlow leaves idle, not preempt TensorFlow's threads,
 * whose every op waits for the slowest of them. Elsewhere the thread keeps normal priority.
 */
export function lowerThisThreadsPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, 19);
  } catch {
    // no /proc/thread-self: not Linux
  }
}
