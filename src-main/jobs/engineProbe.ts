// The compute engine the job workers run on, for the status bar: a worker process starts the
// engine once (the app's own process never loads TensorFlow) and reports what it got.
import type { EngineSummary } from '../../src-shared/domain.js';
import type { EngineInfo } from '../ml/engine.js';
import { workerEntry } from './executeRun.js';
import { runJob, type WorkerEntry } from './runner.js';

export async function probeEngine(entry: WorkerEntry = workerEntry()): Promise<EngineSummary> {
  const { result } = await runJob(entry, 'engine', {});
  return summarizeEngine(result as EngineInfo);
}

export function summarizeEngine(info: EngineInfo): EngineSummary {
  const gpu = info.provider === '@tensorflow/tfjs-node-gpu' && info.device.startsWith('gpu');
  const warning =
    info.backend === 'tensorflow'
      ? null
      : `Slow fallback: the native TensorFlow backend did not load${info.notes.length ? ` (${info.notes.join('; ')})` : ''}; training runs 100x slower. Run npm install again (it builds the native backend, also offline) and restart.`;
  return {
    backend: info.backend,
    provider: info.provider,
    device: info.device,
    threads: info.threads,
    gpu,
    warning,
    notes: info.notes,
  };
}
