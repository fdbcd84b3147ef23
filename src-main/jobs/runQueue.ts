// The run queue of an open project: runs.start checks a run's settings, records it 'queued' with
// its request and returns at once; the queue executes waiting runs one at a time (they share the
// CPU/GPU), oldest first. The queue is the database, not memory: after the app quits or is
// killed, waiting runs are still waiting and the next queue to open the project starts them; a
// run whose process died is failed, or paused when it is a pretraining run with a checkpoint
// (activeRuns.failOrphanedRuns). A finished training is evaluated on the test split when that
// split has labels, in the same turn of the queue.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, type ApiParsed } from '../../src-shared/api.js';
import {
  DEFAULT_PRETRAIN_METHOD,
  type ProgressEvent,
  type RunEstimate,
  type RunRecord,
} from '../../src-shared/domain.js';
import { HEATMAP_HEAD_DEFAULTS, PAPER_HEAD_DEFAULTS } from '../ml/train/config.js';
import type { ProjectStore } from '../store/projectStore.js';
import { cancelRun, failOrphanedRuns, holdRun, isActive, type StopReason } from './activeRuns.js';
import { evaluatePredictions } from './evaluateRun.js';
import { runFeatures } from './featuresRun.js';
import type { ExecuteOptions } from './executeRun.js';
import { requireTrainedRun, runPrediction } from './predictRun.js';
import { preparePretraining, runPretraining } from './pretrainRun.js';
import { itemsOfSplit } from './projectData.js';
import { aRunOfKind } from './runNames.js';
import { modelFolder, prepareTraining, runTraining } from './trainRun.js';

export type QueuedRunRequest = ApiParsed<'runs.start'>;
type PretrainSettings = Extract<QueuedRunRequest, { kind: 'pretrain' }>['settings'];
type TrainSettings = Extract<QueuedRunRequest, { kind: 'train' }>['settings'];

/** What a queued run resumes with: the run's own checkpoint, and this session's budget. */
interface ResumeRequest {
  kind: 'pretrain';
  resume: true;
  minutes?: number;
}
type StoredRequest = QueuedRunRequest | ResumeRequest;

const ENDED = new Set(['done', 'failed', 'cancelled', 'paused']);

/**
 * Paces measured on a 2-core CPU (bench/README.md, native TensorFlow backend), images per second
 * at a reference input side; a run of the same settings in the project replaces them.
 */
const REFERENCE_PACE = {
  moco: { imagesPerSec: 12, size: 96 },
  'dense-contrastive': { imagesPerSec: 24, size: 48 },
  /** ResNet-18 conv2_x..conv5_x, d = 256, batch 4 (projection.ts, measured while the machine was shared). */
  projection: { imagesPerSec: 2.9, size: 96 },
  heatmap: { imagesPerSec: 18, size: 128 },
  paper: { imagesPerSec: 15, size: 96 },
} as const;

export interface RunQueueOptions extends Pick<ExecuteOptions, 'entry'> {
  onProgress?: (event: ProgressEvent) => void;
}

export class RunQueue {
  /** The run this queue is executing, and the promise of its turn. */
  private current: { runId: number; turn: Promise<void> } | null = null;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: ProjectStore,
    private readonly options: RunQueueOptions = {},
  ) {}

  /** Checks a run's settings against the project, queues it and starts the queue. */
  async enqueue(asked: QueuedRunRequest): Promise<{ run: RunRecord; position: number }> {
    const request = withDefaultMethod(asked);
    const parentRunId = await this.check(request);
    const method =
      request.kind === 'pretrain'
        ? (request.settings.method ?? DEFAULT_PRETRAIN_METHOD)
        : request.kind === 'train'
          ? request.settings.head
          : requireTrainedOrQueued(this.store, request.settings.runId).method;
    const run = this.store.runs.enqueue({ kind: request.kind, method, request, parentRunId });
    this.announce(run.id);
    this.start();
    return { run: this.store.runs.require(run.id), position: this.position(run.id) };
  }

  /** 0 for the run executing now, n for the n-th in line behind it; -1 when not queued. */
  position(runId: number): number {
    if (this.current?.runId === runId) return 0;
    const index = this.store.runs.waiting().findIndex((r) => r.id === runId);
    return index < 0 ? -1 : index + (this.current ? 1 : 0);
  }

  /** Starts executing waiting runs unless it already is. */
  start(): void {
    if (this.draining || this.closed) return;
    this.draining = this.drain().finally(() => (this.draining = null));
  }

  /** Resolves when no run is executing or waiting (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Stops taking runs and stops the one executing (the project is closing): a pretraining
   * checkpoints on its way out, and the next open finds it paused; waiting runs stay queued.
   */
  shutdown(): void {
    this.closed = true;
    const runId = this.current?.runId;
    if (runId === undefined) return;
    cancelRun(this.store, runId, this.store.runs.get(runId)?.kind === 'pretrain' ? 'pause' : 'cancel');
  }

  /** The run being executed by this queue, if any. */
  get executing(): number | null {
    return this.current?.runId ?? null;
  }

  /** Pauses a pretraining run: a running one checkpoints and stops, a waiting one leaves the line. */
  async pause(runId: number): Promise<RunRecord> {
    const run = requireRun(this.store, runId);
    if (run.kind !== 'pretrain')
      throw new ApiError(
        'invalid',
        `Run ${runId} is ${aRunOfKind(run.kind)}: only pretraining runs can pause (cancel it instead).`,
      );
    if (run.status === 'paused') return run;
    if (ENDED.has(run.status)) throw new ApiError('conflict', `Run ${runId} already ended (${run.status}).`);
    await this.stop(run, 'pause');
    return this.store.runs.require(runId);
  }

  /** Cancels a waiting or running run. */
  async cancel(runId: number): Promise<void> {
    const run = requireRun(this.store, runId);
    if (ENDED.has(run.status) && run.status !== 'paused')
      throw new ApiError('conflict', `Run ${runId} already ended (${run.status}): there is nothing to cancel.`);
    if (run.status === 'paused') {
      this.store.runs.finish(runId, 'cancelled', { error: 'cancelled by the user' });
      this.announce(runId);
      return;
    }
    await this.stop(run, 'cancel');
  }

  /** Puts a paused, cancelled or interrupted pretraining run back in the queue. */
  resume(runId: number, minutes?: number): { run: RunRecord; position: number } {
    failOrphanedRuns(this.store);
    const run = requireRun(this.store, runId);
    if (run.kind !== 'pretrain')
      throw new ApiError('invalid', `Run ${runId} is ${aRunOfKind(run.kind)}: only pretraining runs resume.`);
    if (run.status === 'queued' || run.status === 'running')
      throw new ApiError('conflict', `Run ${runId} is already ${run.status}.`);
    if (run.status === 'done' && run.metrics?.stoppedBy === 'epochs')
      throw new ApiError('invalid', `Run ${runId} already trained all its epochs: start a new run for more.`);
    // Without a budget of its own, a resumed session gets the run's first budget again.
    const budget = minutes ?? (typeof run.config.minutes === 'number' ? run.config.minutes : undefined);
    let request: StoredRequest;
    if (run.checkpointPath !== null)
      request = { kind: 'pretrain', resume: true, ...(budget ? { minutes: budget } : {}) };
    else if (run.request !== null && run.startedAt === null) {
      // Paused before it ever started: it starts afresh with its own settings.
      request = run.request as QueuedRunRequest;
      if (minutes !== undefined && request.kind === 'pretrain')
        request = { ...request, settings: { ...request.settings, minutes } };
    } else throw new ApiError('invalid', `Run ${runId} never wrote a checkpoint: start a new run.`);
    this.store.runs.requeue(runId, request as unknown as Record<string, unknown>);
    this.announce(runId);
    this.start();
    return { run: this.store.runs.require(runId), position: this.position(runId) };
  }

  /** Deletes an ended run with the runs made from it and their files. */
  async delete(runId: number): Promise<number[]> {
    const run = requireRun(this.store, runId);
    if (!ENDED.has(run.status))
      throw new ApiError('conflict', `Run ${runId} is ${run.status}: cancel it before deleting it.`);
    const all = this.store.runs.list();
    const waitingOnIt = all.find((r) => (r.status === 'queued' || r.status === 'running') && featuresOf(r) === runId);
    if (waitingOnIt)
      throw new ApiError(
        'conflict',
        `Run ${waitingOnIt.id} (${waitingOnIt.status}) trains on the features of run ${runId}: cancel it first.`,
      );
    // Predictions and evaluations belong to the run they came from; trainings on a deleted
    // pretraining run's features keep their own weights and only lose the link.
    const doomed = [runId];
    for (let i = 0; i < doomed.length; i++)
      for (const child of all)
        if (
          child.parentRunId === doomed[i] &&
          (child.kind === 'predict' || child.kind === 'evaluate' || child.kind === 'features')
        )
          doomed.push(child.id);
    this.store.transaction(() => doomed.forEach((id) => this.store.runs.delete(id)));
    for (const id of doomed) {
      for (const file of [modelFolder(id), `${modelFolder(id)}.curve.jsonl`, `${modelFolder(id)}.worker.pid`])
        await rm(path.join(this.store.modelsDir, file), { recursive: true, force: true });
    }
    return doomed;
  }

  /** Steps and epochs a budget buys, at the pace of the latest finished run like it. */
  async estimate(asked: QueuedRunRequest): Promise<RunEstimate> {
    const request = withDefaultMethod(asked);
    if (request.kind === 'predict' || request.kind === 'features') {
      const images = itemsOfSplit(this.store, request.kind === 'predict' ? request.settings.split : 'all').length;
      return { images, batchSize: 1, imagesPerSec: NaN, basis: 'reference', steps: images, epochs: 1, seconds: NaN };
    }
    if (request.kind === 'pretrain') {
      const prepared = await preparePretraining(this.store, request.settings);
      const images = prepared.payload.images.length;
      const batchSize = Number(prepared.config.batchSize);
      const size = Number(prepared.config.inputSize);
      const pace = this.pace(
        (r) =>
          r.kind === 'pretrain' &&
          r.method === request.settings.method &&
          r.config.backbone === prepared.config.backbone &&
          r.config.inputSize === size &&
          r.config.batchSize === batchSize,
        REFERENCE_PACE[request.settings.method ?? DEFAULT_PRETRAIN_METHOD],
        size,
      );
      const perEpoch = Math.max(1, Math.floor(images / batchSize));
      const epochSteps = Number(prepared.config.epochs) * perEpoch;
      const budgetSteps =
        request.settings.minutes === undefined
          ? Infinity
          : Math.floor((request.settings.minutes * 60 * pace.imagesPerSec) / batchSize);
      const steps = Math.min(epochSteps, budgetSteps);
      return {
        images,
        batchSize,
        ...pace,
        steps,
        epochs: steps / perEpoch,
        seconds: (steps * batchSize) / pace.imagesPerSec,
      };
    }
    const prepared = prepareTraining(this.store, { ...request.settings, features: 'random' });
    const head = request.settings.head;
    const defaults = head === 'paper' ? PAPER_HEAD_DEFAULTS : HEATMAP_HEAD_DEFAULTS;
    // The heatmap head trains on crops of its input.
    const size =
      head === 'heatmap'
        ? Math.min(HEATMAP_HEAD_DEFAULTS.trainCropSize ?? prepared.spec.inputSize, prepared.spec.inputSize)
        : prepared.spec.inputSize;
    const pace = this.pace(
      (r) =>
        r.kind === 'train' &&
        r.method === head &&
        r.config.backbone === prepared.spec.backbone &&
        r.config.inputSize === prepared.spec.inputSize,
      REFERENCE_PACE[head],
      size,
    );
    // A budget ends the training at the step that spends it, or `steps` if that comes first.
    const minutes = request.settings.minutes;
    const budgetSteps =
      minutes === undefined ? Infinity : Math.floor((minutes * 60 * pace.imagesPerSec) / defaults.batchSize);
    const steps = Math.min(prepared.spec.steps, budgetSteps);
    const images = prepared.items.length;
    return {
      images,
      batchSize: defaults.batchSize,
      ...pace,
      steps,
      epochs: (steps * defaults.batchSize) / images,
      seconds: (steps * defaults.batchSize) / pace.imagesPerSec,
    };
  }

  private pace(
    like: (run: RunRecord) => boolean,
    reference: { imagesPerSec: number; size: number },
    size: number,
  ): { imagesPerSec: number; basis: string } {
    const measured = this.store.runs
      .list()
      .filter((r) => r.status === 'done' && like(r) && Number(r.metrics?.imagesPerSecond) > 0)
      .at(-1);
    if (measured) return { imagesPerSec: Number(measured.metrics!.imagesPerSecond), basis: `run ${measured.id}` };
    // Convolution cost grows with the pixel count.
    return { imagesPerSec: reference.imagesPerSec * (reference.size / size) ** 2, basis: 'reference' };
  }

  private async stop(run: RunRecord, reason: StopReason): Promise<void> {
    if (this.current?.runId === run.id) {
      cancelRun(this.store, run.id, reason);
      await this.current.turn;
      return;
    }
    if (run.status === 'queued' && this.store.runs.waiting().some((r) => r.id === run.id)) {
      this.store.runs.finish(run.id, reason === 'pause' ? 'paused' : 'cancelled', {
        error: reason === 'pause' ? undefined : 'cancelled by the user',
      });
      this.announce(run.id);
      return;
    }
    if (isActive(this.store, run.id)) {
      // A run this process executes outside the queue (a blocking runs.train, say).
      cancelRun(this.store, run.id, reason);
      return;
    }
    throw new ApiError('conflict', `Run ${run.id} is running in another process: stop it there.`);
  }

  private async drain(): Promise<void> {
    try {
      await this.takeTurns();
    } catch (err) {
      // Only a closed project gets here (execute never throws): its runs are left as they are,
      // and the next open finds the interrupted one (activeRuns.failOrphanedRuns).
      if (this.store.db.open) throw err;
    }
  }

  private async takeTurns(): Promise<void> {
    failOrphanedRuns(this.store);
    while (!this.closed && this.store.db.open) {
      const next = this.store.runs.waiting()[0];
      if (!next) return;
      if (!this.store.runs.take(next.id, process.pid)) continue; // another process took it
      const release = holdRun(this.store, next.id);
      const turn = this.execute(next).finally(release);
      this.current = { runId: next.id, turn };
      try {
        await turn;
      } finally {
        this.current = null;
      }
    }
  }

  /** One turn of the queue: the run, and for a training its evaluation. Never throws. */
  private async execute(run: RunRecord): Promise<void> {
    const options: ExecuteOptions = { ...this.options, runId: run.id };
    const request = run.request as unknown as StoredRequest;
    try {
      if ('resume' in request) {
        const prepared = await preparePretraining(
          this.store,
          { method: run.method as PretrainSettings['method'], resume: run.id, minutes: request.minutes },
          { queuedRunId: run.id },
        );
        await runPretraining(this.store, prepared, options);
      } else if (request.kind === 'pretrain') {
        await runPretraining(this.store, await preparePretraining(this.store, request.settings), options);
      } else if (request.kind === 'train') {
        const { outcome } = await runTraining(this.store, prepareTraining(this.store, request.settings), options);
        if (outcome.status === 'done') await this.evaluateOnTest(run.id);
      } else if (request.kind === 'features') {
        await runFeatures(this.store, requireTrainedRun(this.store, request.settings.runId), options);
      } else {
        const trainRun = requireTrainedRun(this.store, request.settings.runId);
        await runPrediction(this.store, trainRun, request.settings.split, options);
      }
    } catch (err) {
      // Settings that no longer hold when the run's turn comes (its features failed, the labels
      // were deleted): the run fails with the reason; the queue goes on.
      const current = this.store.runs.get(run.id);
      if (current && !ENDED.has(current.status))
        this.store.runs.finish(run.id, 'failed', { error: err instanceof Error ? err.message : String(err) });
    }
    this.announce(run.id);
  }

  /** Predicts and scores the test split after a training, when the split has labeled images. */
  private async evaluateOnTest(trainRunId: number): Promise<void> {
    if (!itemsOfSplit(this.store, 'test').some((item) => item.labeledCount > 0)) return;
    const trainRun = requireTrainedRun(this.store, trainRunId);
    const { runId, outcome } = await runPrediction(this.store, trainRun, 'test', this.options);
    if (outcome.status === 'done') evaluatePredictions(this.store, trainRun, this.store.runs.require(runId), 'test');
  }

  /** Tells every window a run's status changed. */
  private announce(runId: number): void {
    const run = this.store.runs.get(runId);
    if (!run) return;
    this.options.onProgress?.({
      task: `${run.kind} run ${run.id}`,
      done: 0,
      total: 0,
      message: run.status,
      run: { runId: run.id, kind: run.kind, status: run.status },
    });
  }

  /** Settings checks that can be made before the run's turn; returns the run's parent. */
  private async check(request: QueuedRunRequest): Promise<number | null> {
    if (request.kind === 'pretrain') {
      await preparePretraining(this.store, request.settings);
      return null;
    }
    if (request.kind === 'predict' || request.kind === 'features') {
      requireTrainedOrQueued(this.store, request.settings.runId);
      return request.settings.runId;
    }
    const features = request.settings.features;
    // The labels and settings are checked now; the features run may still be ahead in the queue.
    prepareTraining(this.store, { ...request.settings, features: 'random' });
    if (features === 'random') return null;
    requireUsableFeatures(this.store, features, request.settings);
    return features;
  }
}

/** A pretraining request names its method (the default one when left out), so the run record does. */
function withDefaultMethod(request: QueuedRunRequest): QueuedRunRequest {
  return request.kind === 'pretrain'
    ? { ...request, settings: { ...request.settings, method: request.settings.method ?? DEFAULT_PRETRAIN_METHOD } }
    : request;
}

function requireRun(store: ProjectStore, runId: number): RunRecord {
  const run = store.runs.get(runId);
  if (!run) throw new ApiError('not_found', `No run ${runId} in this project.`);
  return run;
}

/** The pretraining run a training run takes its features from, if any. */
function featuresOf(run: RunRecord): number | null {
  if (run.kind !== 'train') return null;
  const settings = (run.request as { settings?: { features?: unknown } } | null)?.settings;
  const features = settings?.features ?? run.config.features;
  return typeof features === 'number' ? features : null;
}

/** A pretraining run whose backbone a training can start from, now or when its turn comes. */
function requireUsableFeatures(store: ProjectStore, runId: number, settings: TrainSettings): void {
  const run = store.runs.get(runId);
  if (!run) throw new ApiError('not_found', `No run ${runId} in this project: features must be a pretraining run.`);
  if (run.kind !== 'pretrain')
    throw new ApiError(
      'invalid',
      `Run ${runId} is ${aRunOfKind(run.kind)}, not a pretraining run: it has no features.`,
    );
  const requested = (run.request as { settings?: { backbone?: string } } | null)?.settings?.backbone;
  const backbone = (run.config.backbone as string | undefined) ?? requested ?? 'resnet18';
  if (backbone !== settings.backbone)
    throw new ApiError(
      'invalid',
      `Pretraining run ${runId} trains a ${backbone} backbone, this training a ${settings.backbone}: choose the same backbone, or other features.`,
    );
  if (run.status === 'queued' || run.status === 'running') return; // it runs first: the queue is in order
  if (run.checkpointPath === null)
    throw new ApiError(
      'invalid',
      `Pretraining run ${runId} is ${run.status} and has no checkpoint: its features cannot be used (choose another run, or random init).`,
    );
}

/** A training run with a model, or one queued or running that will have one. */
function requireTrainedOrQueued(store: ProjectStore, runId: number): RunRecord {
  const run = store.runs.get(runId);
  if (run?.kind === 'train' && (run.status === 'queued' || run.status === 'running')) return run;
  return requireTrainedRun(store, runId);
}
