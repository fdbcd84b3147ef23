// runs.* and predictions.list: training, prediction and evaluation runs over the open project.
// The work runs in a job process (src-main/jobs); its progress goes to `onProgress` (the CLI's
// bar, the host's /events). A run that fails or is cancelled is recorded as such and its call
// rejects with an ApiError naming the run; the project's labels are never touched by a run.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ProgressEvent, RunRecord, Split } from '../../src-shared/domain.js';
import { cancelRun, failOrphanedRuns } from '../jobs/activeRuns.js';
import { evaluatePredictions } from '../jobs/evaluateRun.js';
import type { ExecuteOptions, RunOutcome } from '../jobs/executeRun.js';
import { requireTrainedRun, runPrediction } from '../jobs/predictRun.js';
import { preparePretraining, runPretraining } from '../jobs/pretrainRun.js';
import { prepareTraining, runTraining } from '../jobs/trainRun.js';
import type { ProjectStore } from '../store/projectStore.js';
import type { PathPolicy } from './pathPolicy.js';
import type { ProjectSession } from './session.js';
import { aRunOfKind } from '../jobs/runNames.js';

type RunsHandlers = Pick<
  ApiHandlers,
  | 'runs.list'
  | 'runs.get'
  | 'runs.train'
  | 'runs.pretrain'
  | 'runs.predict'
  | 'runs.evaluate'
  | 'runs.cancel'
  | 'predictions.list'
>;

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
): RunsHandlers {
  const options: ExecuteOptions = { onProgress };
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

    'runs.cancel'({ runId }) {
      const store = project();
      const run = requireRun(store, runId);
      if (run.status !== 'running' && run.status !== 'queued') return { cancelled: false };
      if (!cancelRun(store, runId)) {
        throw new ApiError('conflict', `Run ${runId} is running in another process: cancel it there.`);
      }
      return { cancelled: true };
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
