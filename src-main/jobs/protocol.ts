// Messages between the job runner (parent, owns the project store) and a job worker (child
// process, runs the ML). The worker never touches the store: the parent hands it everything it
// needs in the payload and persists what it reports.

/** Progress of a running job, shown as a bar with ETA and persisted as the loss curve. */
export interface JobProgress {
  step: number;
  totalSteps: number;
  epoch?: number;
  loss?: number;
  imagesPerSec?: number;
  etaSec?: number;
  message?: string;
}

export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; progress: JobProgress }
  /** Step-level values for run_metrics (loss curves). */
  | { type: 'metric'; step: number; values: Record<string, number> }
  /** A checkpoint was written (path relative to the project's models/ folder). */
  | { type: 'checkpoint'; path: string; step: number }
  /** A piece of the result, persisted by the parent as it arrives (a prediction run's batches). */
  | { type: 'partial'; piece: unknown }
  | { type: 'done'; result: unknown }
  | { type: 'error'; message: string; stack?: string };

export type ParentMessage =
  | { type: 'start'; kind: string; payload: unknown }
  | { type: 'cancel' }
  /** A spare worker: start the compute engine now, before any job arrives. */
  | { type: 'warm' };

/** What a job function gets besides its payload. */
export interface JobContext {
  progress(progress: JobProgress): void;
  metric(step: number, values: Record<string, number>): void;
  checkpoint(path: string, step: number): void;
  /**
   * Sends a piece of the result now, so the parent stores it while the job goes on; resolves once
   * it is written to the parent. A job's thread held in TensorFlow calls does not write meanwhile,
   * so a job awaits this before its next piece of work.
   */
  partial(piece: unknown): Promise<void>;
  /** Aborted when the user cancels; jobs check it between steps and stop cleanly. */
  signal: AbortSignal;
  /** One line naming the compute backend, for run records. */
  backend: string;
}

export type JobFunction = (payload: unknown, ctx: JobContext) => Promise<unknown>;
/** Job kinds a worker can run, by name. Loaded lazily so a worker imports only what it runs. */
export type JobRegistry = Record<string, () => Promise<JobFunction>>;
