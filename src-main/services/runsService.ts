// runs.* and predictions.list: training, prediction and evaluation runs over the open project.
// The work runs in a job process (src-main/jobs); its progress goes to `onProgress` (the CLI's
// bar, the host's /events). runs.train / runs.pretrain / runs.predict block until their run ends
// (the CLI); runs.start queues a run and returns at once (the app): the project's run queue
// (jobs/runQueue.ts) executes queued runs one at a time, in the processes that run the queue (the
// host and the Electron app, not the CLI). A run that fails or is cancelled is recorded as such;
// the project's labels are never touched by a run.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError, apiRequests, type ApiParsed } from '../../src-shared/api.js';
import type { EngineSummary, ProgressEvent, RunRecord, Split } from '../../src-shared/domain.js';
import { cancelRun, failOrphanedRuns } from '../jobs/activeRuns.js';
import { evaluatePredictions } from '../jobs/evaluateRun.js';
import { runFeatures } from '../jobs/featuresRun.js';
import type { ExecuteOptions, RunOutcome } from '../jobs/executeRun.js';
import { requireTrainedRun, runPrediction } from '../jobs/predictRun.js';
import { preparePretraining, runPretraining } from '../jobs/pretrainRun.js';
import { prepareTraining, runTraining } from '../jobs/trainRun.js';
import type { ProjectStore } from '../store/projectStore.js';
import type { PathPolicy } from './pathPolicy.js';
import type { ProjectSession } from './session.js';
import { aRunOfKind } from '../jobs/runNames.js';
import { RunQueue, type QueuedRunRequest } from '../jobs/runQueue.js';
import { probeEngine } from '../jobs/engineProbe.js';
import type { WorkerEntry } from '../jobs/runner.js';
import { scanImageRoot } from './scanImages.js';

type RunsHandlers = Pick<
  ApiHandlers,
  | 'runs.list'
  | 'runs.get'
  | 'runs.train'
  | 'runs.pretrain'
  | 'runs.predict'
  | 'runs.evaluate'
  | 'runs.cancel'
  | 'runs.start'
  | 'runs.estimate'
  | 'runs.pause'
  | 'runs.resume'
  | 'runs.delete'
  | 'engine.info'
  | 'folders.inspect'
  | 'predictions.list'
  | 'runs.features'
  | 'review.retrain'
>;

export interface RunsOptions {
  /** Whether this process executes the run queue (the app and the host do; the CLI does not). */
  runQueue?: boolean;
  /** Test seam: the worker script jobs run in. */
  entry?: WorkerEntry;
}

function requireRun(store: ProjectStore, runId: number): RunRecord {
  const run = store.runs.get(runId);
  if (!run) throw new ApiError('not_found', `No run ${runId} in this project.`);
  return run;
}

/** The finished run, or an ApiError for a run that failed or was cancelled. */
function finished<T>(store: ProjectStore, what: string, runId: number, outcome: RunOutcome<T>): RunRecord {
  if (outcome.status === 'failed')
    throw new ApiError('internal', `${what} run ${runId} failed: ${outcome.error}`, { runId });
  if (outcome.status === 'cancelled') throw new ApiError('conflict', `${what} run ${runId} was cancelled.`, { runId });
  return store.runs.require(runId);
}

/**
 * A training run's settings, to train again on every labeled train image (its `labels` count is
 * dropped): the request it was queued with, or the configuration of a run started directly.
 */
function retrainSettings(run: RunRecord): ApiParsed<'runs.train'> {
  const requested = (run.request as { settings?: Record<string, unknown> } | null)?.settings;
  const c = run.config;
  const asked = requested ?? {
    head: c.head,
    backbone: c.backbone,
    features: c.features,
    size: c.inputSize,
    fineTune: c.fineTune,
    seed: c.seed,
    // A run budgeted in minutes alone records the step cap; its clock ends it again.
    ...(typeof c.minutes === 'number' ? { minutes: c.minutes } : { steps: c.steps }),
    ...(c.augmentOverride ? { augment: c.augmentOverride } : {}),
  };
  const { labels: _labels, ...rest } = asked;
  const parsed = apiRequests['runs.train'].safeParse(rest);
  if (!parsed.success)
    throw new ApiError(
      'invalid',
      `Training run ${run.id} records settings this version cannot train again: ${parsed.error.issues[0]?.message ?? 'unknown'}.`,
    );
  return parsed.data;
}

/** The newest finished prediction run of a training run on a split, if any. */
function latestPrediction(store: ProjectStore, trainRunId: number, split: Split): RunRecord | undefined {
  return store.runs
    .list()
    .filter(
      (r) =>
        r.kind === 'predict' &&
        r.status === 'done' &&
        r.parentRunId === trainRunId &&
        (r.config.split === split || r.config.split === 'all'),
    )
    .at(-1);
}

export function runsHandlers(
  session: ProjectSession,
  policy: PathPolicy,
  onProgress?: (e: ProgressEvent) => void,
  runsOptions: RunsOptions = {},
): RunsHandlers {
  const options: ExecuteOptions = { onProgress, entry: runsOptions.entry };
  const queues = new WeakMap<ProjectStore, RunQueue>();
  const queueOf = (store: ProjectStore): RunQueue => {
    let queue = queues.get(store);
    if (!queue) queues.set(store, (queue = new RunQueue(store, { onProgress, entry: runsOptions.entry })));
    return queue;
  };
  /** The open project's queue; the CLI has none (its runs block). */
  const queue = (): RunQueue => {
    const store = project();
    if (!runsOptions.runQueue)
      throw new ApiError(
        'invalid',
        'The run queue runs in the app (npm start or serve); on the command line, pretrain and train run directly.',
      );
    return queueOf(store);
  };
  if (runsOptions.runQueue) {
    // Queued runs left by an earlier session start when their project opens.
    session.onOpen((store) => queueOf(store).start());
    session.onClose((store) => queues.get(store)?.shutdown());
    session.guard = () => {
      const executing = session.current && queues.get(session.current)?.executing;
      if (executing)
        throw new ApiError(
          'conflict',
          `Run ${executing} is computing in this project: pause or cancel it before opening another project.`,
        );
    };
  }
  let engine: Promise<EngineSummary> | null = null;
  /** A queued run's request with its folder checked by the path policy and resolved. */
  const allowedFolder = async <R extends QueuedRunRequest>(request: R): Promise<R> =>
    request.kind === 'pretrain' && request.settings.folder !== undefined
      ? {
          ...request,
          settings: {
            ...request.settings,
            folder: await policy.check(request.settings.folder, 'folder', 'image folder'),
          },
        }
      : request;
  /** The open project, after failing runs whose process died. */
  const project = (): ProjectStore => {
    const store = session.require();
    failOrphanedRuns(store);
    return store;
  };

  return {
    'runs.list'({ kind }) {
      return project()
        .runs.list()
        .filter((r) => kind === undefined || r.kind === kind);
    },

    'runs.get'({ runId }) {
      const store = project();
      return {
        run: requireRun(store, runId),
        curves: store.runs.metrics(runId),
        evaluations: store.runs.evaluations(runId),
      };
    },

    async 'runs.train'(req) {
      const store = project();
      const { runId, outcome } = await runTraining(store, prepareTraining(store, req), options);
      return finished(store, 'Training', runId, outcome);
    },

    async 'runs.pretrain'(req) {
      const store = project();
      const folder = req.folder === undefined ? undefined : await policy.check(req.folder, 'folder', 'image folder');
      const { runId, outcome } = await runPretraining(
        store,
        await preparePretraining(store, { ...req, folder }),
        options,
      );
      if (outcome.status === 'failed')
        throw new ApiError(
          'internal',
          `Pretraining run ${runId} failed: ${outcome.error} (its last checkpoint is kept: resume it).`,
          { runId },
        );
      return store.runs.require(runId);
    },

    async 'runs.predict'({ runId, split }) {
      const store = project();
      const trainRun = requireTrainedRun(store, runId);
      const predicted = await runPrediction(store, trainRun, split, options);
      return finished(store, 'Prediction', predicted.runId, predicted.outcome);
    },

    async 'runs.evaluate'({ runId, split }) {
      const store = project();
      const run = requireRun(store, runId);
      if (run.kind !== 'train' && run.kind !== 'predict') {
        throw new ApiError(
          'invalid',
          `Run ${runId} is ${aRunOfKind(run.kind)}: evaluate a training run or a prediction run.`,
        );
      }
      let predictRun: RunRecord;
      if (run.kind === 'predict') {
        if (run.status !== 'done')
          throw new ApiError('invalid', `Prediction run ${runId} is ${run.status}: it has no predictions to evaluate.`);
        predictRun = run;
      } else {
        requireTrainedRun(store, runId);
        const existing = latestPrediction(store, runId, split);
        if (existing) predictRun = existing;
        else {
          const predicted = await runPrediction(store, run, split, options);
          predictRun = finished(store, 'Prediction', predicted.runId, predicted.outcome);
        }
      }
      const trainRun = requireTrainedRun(store, predictRun.parentRunId ?? -1);
      return evaluatePredictions(store, trainRun, predictRun, split);
    },

    async 'runs.cancel'({ runId }) {
      const store = project();
      const run = requireRun(store, runId);
      if (runsOptions.runQueue) {
        await queueOf(store).cancel(runId);
        return { cancelled: true };
      }
      if (run.status !== 'running' && run.status !== 'queued') return { cancelled: false };
      if (!cancelRun(store, runId)) {
        throw new ApiError('conflict', `Run ${runId} is running in another process: cancel it there.`);
      }
      return { cancelled: true };
    },

    async 'runs.start'(request) {
      return queue().enqueue(await allowedFolder(request));
    },

    async 'runs.estimate'(request) {
      return queueOf(project()).estimate(await allowedFolder(request));
    },

    'runs.pause'({ runId }) {
      return queue().pause(runId);
    },

    'runs.resume'({ runId, minutes }) {
      return queue().resume(runId, minutes);
    },

    async 'runs.delete'({ runId, confirm }) {
      const store = project();
      const run = requireRun(store, runId);
      if (!confirm)
        throw new ApiError(
          'confirm_required',
          `Deleting run ${runId} (${aRunOfKind(run.kind)}) removes its model files, predictions and evaluations for good: confirm to go on.`,
        );
      return { deleted: await queueOf(store).delete(runId) };
    },

    'engine.info'() {
      engine ??= probeEngine(runsOptions.entry).catch((err: unknown) => {
        engine = null; // try again next time
        throw new ApiError('internal', `The compute engine could not start: ${(err as Error).message}`);
      });
      return engine;
    },

    async 'folders.inspect'({ folder }) {
      const resolved = await policy.check(folder, 'folder', 'image folder');
      const store = session.current;
      const files = await scanImageRoot(resolved, { exclude: store ? [store.dir] : [] });
      const problems = files.filter((f) => f.problem !== null).length;
      return { folder: resolved, images: files.length - problems, problems };
    },

    async 'runs.features'({ runId }) {
      const store = project();
      const trainRun = requireTrainedRun(store, runId);
      const computed = await runFeatures(store, trainRun, options);
      return finished(store, 'Features', computed.runId, computed.outcome);
    },

    async 'review.retrain'({ runId }) {
      const store = project();
      const previous =
        runId === undefined
          ? store.runs
              .list()
              .filter((r) => r.kind === 'train' && r.status === 'done' && r.checkpointPath !== null)
              .at(-1)
          : requireTrainedRun(store, runId);
      if (!previous)
        throw new ApiError('invalid', 'No finished training run to take the settings from: train a model first.');
      const queued = await queue().enqueue({ kind: 'train', settings: retrainSettings(previous) });
      return { ...queued, previousRunId: previous.id };
    },

    'predictions.list'({ runId, imageId }) {
      const store = project();
      const run = requireRun(store, runId);
      if (run.kind !== 'predict')
        throw new ApiError(
          'invalid',
          `Run ${runId} is ${aRunOfKind(run.kind)}: predictions belong to prediction runs.`,
        );
      const all = store.runs.predictions(runId);
      return imageId === undefined ? all : all.filter((p) => p.imageId === imageId);
    },
  };
}
