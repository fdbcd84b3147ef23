// What the parent hands the 'pretrain' job and what it hands back: plain data over IPC.
import type { PretrainMethodConfig } from '../ml/pretrain/pretrainSession.js';
import type { JobImage } from './jobTypes.js';

export type { PretrainMethodConfig };

/** Budgets and data of a run, known before it has an id. */
export interface PretrainSettings {
  seed: number;
  /** Images to train on (the same list, in the same order, on every resume). */
  images: Pick<JobImage, 'path' | 'crop'>[];
  /** Epoch budget of the whole run; fixes the cosine schedule's horizon. */
  epochs: number;
  /** Wall-clock budget of this session of the run, minutes; null = none. */
  minutes: number | null;
  /** Minutes between periodic checkpoints (there is always one at the stop and on cancel). */
  checkpointMinutes: number;
  /** Continue from the checkpoint at checkpointDir instead of starting fresh. */
  resume: boolean;
  cacheDir: string | null;
}

/** Where a run keeps its files (known once it has an id). */
export interface PretrainFiles {
  /** Absolute checkpoint folder, and the same relative to the project's models/ (for the run record). */
  checkpointDir: string;
  checkpointRel: string;
  /**
   * Append-only log of every step's metrics, written before they are sent: a parent killed between
   * a checkpoint and recording the steps before it loses nothing (the resume reads them back).
   */
  curveLog: string;
  /** The worker writes its pid here: a resume waits for an orphaned worker (its parent was killed) to be gone. */
  workerPidFile: string;
}

export type PretrainPayload = PretrainMethodConfig & PretrainSettings & PretrainFiles;

export interface PretrainResult {
  /** Completed steps of the whole run (continues across resumes). */
  steps: number;
  /** Step the run resumed from (0 for a fresh start). */
  startStep: number;
  epochs: number;
  stoppedBy: 'epochs' | 'minutes';
  /** Seconds of this session. */
  seconds: number;
  imagesPerSecond: number;
  finalLoss: number | null;
  /**
   * The loss of an encoder that cannot tell the positive from the negatives: ln(queue + 1) for
   * MoCo, ln(2 x points - 1) for dense contrastive (its last step's points).
   */
  chanceLoss: number;
  /** Images left out because they could not be decoded during training. */
  problems: string[];
}
