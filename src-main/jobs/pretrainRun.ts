// A pretraining run, parent side: collects the images (the project's, or any folder, scanned
// with the same decoder and problem list as the project scan), validates the budget and the
// method's settings against them, records the run, runs the 'pretrain' job and records its outcome.
// `resume` continues a stopped, cancelled or crashed run under the same id from its checkpoint.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import {
  DEFAULT_PRETRAIN_METHOD,
  type PretrainMethod,
  type RunRecord,
  type TrainBackbone,
} from '../../src-shared/domain.js';
import type { BackboneConfig } from '../ml/backbones/index.js';
import { resolveDenseContrastConfig, type DenseContrastConfig } from '../ml/pretrain/denseContrast.js';
import { resolveMocoConfig, type MocoConfig } from '../ml/pretrain/mocoConfig.js';
import { resolveProjectionConfig, type ProjectionConfig } from '../ml/pretrain/projectionConfig.js';
import { featureSourceOf } from './featureRuns.js';
import { IMAGE_EXTENSIONS } from '../services/imageDecode.js';
import { scanImageRoot } from '../services/scanImages.js';
import type { ProjectStore } from '../store/projectStore.js';
import { failOrphanedRuns } from './activeRuns.js';
import { createRun, executeRun, type ExecuteOptions, type RunOutcome } from './executeRun.js';
import type { PretrainMethodConfig, PretrainPayload, PretrainResult, PretrainSettings } from './pretrainTypes.js';
import { itemsOfSplit, jobImage, allItems } from './projectData.js';
import { aRunOfKind } from './runNames.js';
import { modelFolder } from './trainRun.js';

/** Defaults when the user gives no budget: the cosine schedule needs a horizon in epochs. */
export const PRETRAIN_DEFAULTS = { epochs: 100, checkpointMinutes: 2, seed: 1 } as const;
/** SmallNet's last stage width when pretrained (its K-landmark output is replaced by the heads). */
const SMALLNET_PRETRAIN_CHANNELS = 64;

export interface PretrainRequest {
  /** Default: the resumed run's method, else DEFAULT_PRETRAIN_METHOD. */
  method?: PretrainMethod;
  backbone?: TrainBackbone;
  /** Network input side (views), px. */
  size?: number;
  /** A folder of images (recursive) instead of the project's images. */
  folder?: string;
  epochs?: number;
  minutes?: number;
  batch?: number;
  queue?: number;
  checkpointMinutes?: number;
  seed?: number;
  /** Id of a pretraining run to continue (the other settings come from it). */
  resume?: number;
  /** projection: the run whose hypercolumn is projected ('random': a random-init ResNet-18). */
  features?: number | 'random';
  /** projection: the descriptors' dimension d (paper 001 Tab. 1: 64, 128, 256). */
  dim?: number;
  /** Further settings of the method (tests use small ones); never needed from the command line. */
  overrides?: Partial<MocoConfig> | Partial<DenseContrastConfig> | Partial<ProjectionConfig>;
}

export interface PreparedPretraining {
  /** Set when resuming. */
  runId: number | null;
  config: Record<string, unknown>;
  /** Everything but the run's file paths (known once the run has an id). */
  payload: PretrainMethodConfig & PretrainSettings;
  /** Images found but unusable (reported, skipped). */
  problems: string[];
  /** What was adjusted (e.g. the queue clamped to the image count). */
  messages: string[];
}

/** Where a run record keeps its method's resolved settings. */
const METHOD_CONFIG_KEY: Record<PretrainMethod, string> = {
  moco: 'moco',
  'dense-contrastive': 'denseContrastive',
  projection: 'projection',
};

function backboneConfig(arch: TrainBackbone): BackboneConfig {
  return arch === 'smallnet' ? { arch, outChannels: SMALLNET_PRETRAIN_CHANNELS } : { arch };
}

function requireBudget(name: string, value: number | undefined, flag: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new ApiError(
      'invalid',
      `A pretraining budget of ${value} ${name} cannot train anything: give ${flag} a positive number.`,
    );
  }
}

/** Usable images and the problems of the others: a folder is scanned like a project's image root. */
async function collectImages(
  store: ProjectStore,
  folder: string | null,
): Promise<{ images: PretrainPayload['images']; problems: string[] }> {
  if (folder === null) {
    const images = itemsOfSplit(store, 'all').map((item) => {
      const { path: file, crop } = jobImage(store, item);
      return { path: file, crop };
    });
    const problems = allItems(store)
      .filter((item) => item.problem !== null)
      .map((item) => `${item.relPath}: left out (${item.problem})`);
    return { images, problems };
  }
  const scanned = await scanImageRoot(folder, { exclude: [store.dir] });
  return {
    images: scanned
      .filter((f) => f.problem === null)
      .map((f) => ({ path: path.join(folder, ...f.relPath.split('/')), crop: null })),
    problems: scanned.filter((f) => f.problem !== null).map((f) => `${f.relPath}: left out (${f.problem})`),
  };
}

function describeSource(folder: string | null): string {
  return folder === null ? "the project's images" : `the folder ${folder}`;
}

/** The run to continue, or an ApiError saying why it cannot be. `queuedRunId`: the run queue resuming it. */
function resumableRun(store: ProjectStore, req: PretrainRequest, queuedRunId?: number): RunRecord {
  const id = req.resume!;
  failOrphanedRuns(store);
  const run = store.runs.get(id);
  if (!run)
    throw new ApiError('not_found', `No run ${id} in this project: --resume takes the id of a pretraining run.`);
  if (run.kind !== 'pretrain')
    throw new ApiError(
      'invalid',
      `Run ${id} is ${aRunOfKind(run.kind)}, not a pretraining run: it cannot be resumed by pretrain.`,
    );
  if (req.method !== undefined && run.method !== req.method) {
    throw new ApiError(
      'invalid',
      `Run ${id} is a ${run.method} pretraining run; it cannot be resumed with --method ${req.method}.`,
    );
  }
  const arch = (run.config.backbone as string | undefined) ?? 'unknown';
  if (req.backbone !== undefined && req.backbone !== arch) {
    throw new ApiError(
      'invalid',
      `Run ${id} pretrains a ${arch} backbone; it cannot be resumed with --backbone ${req.backbone} (leave --backbone out, or start a new run).`,
    );
  }
  for (const [flag, value] of [
    ['--size', req.size],
    ['--folder', req.folder],
    ['--batch', req.batch],
    ['--queue', req.queue],
    ['--epochs', req.epochs],
    ['--seed', req.seed],
    ['--features', req.features],
    ['--dim', req.dim],
  ] as const) {
    if (value !== undefined)
      throw new ApiError(
        'invalid',
        `${flag} cannot change when resuming run ${id}: a resumed run keeps its settings (only --minutes and --checkpoint-minutes apply).`,
      );
  }
  if ((run.status === 'running' || run.status === 'queued') && run.id !== queuedRunId)
    throw new ApiError('conflict', `Run ${id} is still running: cancel it before resuming.`);
  if (run.status === 'done' && run.metrics?.stoppedBy === 'epochs') {
    throw new ApiError(
      'invalid',
      `Run ${id} already trained its ${String(run.config.epochs)} epochs: start a new run with more --epochs.`,
    );
  }
  if (run.checkpointPath === null) {
    throw new ApiError(
      'invalid',
      `Run ${id} (${run.status}) never wrote a checkpoint, so there is nothing to resume: start a new run.`,
    );
  }
  return run;
}

/** Everything a pretraining run needs, or an ApiError saying what is wrong. Touches nothing. */
export async function preparePretraining(
  store: ProjectStore,
  req: PretrainRequest,
  options: { queuedRunId?: number } = {},
): Promise<PreparedPretraining> {
  requireBudget('epochs', req.epochs, '--epochs');
  requireBudget('minutes', req.minutes, '--minutes');
  requireBudget('minutes between checkpoints', req.checkpointMinutes, '--checkpoint-minutes');
  const resumed = req.resume === undefined ? null : resumableRun(store, req, options.queuedRunId);
  const stored = resumed?.config ?? {};
  const folder = resumed
    ? ((stored.folder as string | null) ?? null)
    : req.folder === undefined
      ? null
      : path.resolve(req.folder);
  const { images, problems } = await collectImages(store, folder);
  const source = describeSource(folder);
  if (images.length === 0) {
    const why = problems.length
      ? `; ${problems.length} file(s) could not be read: ${problems.slice(0, 3).join('; ')}`
      : ` (looked for ${[...IMAGE_EXTENSIONS].join(' ')} files, recursively)`;
    throw new ApiError('invalid', `No usable images in ${source}${why}.`);
  }
  const checkpointMinutes = req.checkpointMinutes ?? PRETRAIN_DEFAULTS.checkpointMinutes;
  const minutes = req.minutes ?? null;
  if (resumed) {
    if (images.length !== stored.imageCount) {
      throw new ApiError(
        'invalid',
        `Run ${resumed.id} was started on ${String(stored.imageCount)} images but ${source} has ${images.length} usable now: a resumed run needs the same images (start a new run).`,
      );
    }
    const payload = {
      ...({
        method: resumed.method,
        config: stored[METHOD_CONFIG_KEY[resumed.method as PretrainMethod]],
        // A projection checkpoint holds its frozen backbone: the features run is not read again.
        featuresDir: null,
      } as PretrainMethodConfig),
      seed: stored.seed as number,
      images,
      epochs: stored.epochs as number,
      minutes,
      checkpointMinutes,
      resume: true,
      cacheDir: store.cacheDir,
    };
    return { runId: resumed.id, config: stored, payload, problems, messages: [] };
  }
  const method = req.method ?? DEFAULT_PRETRAIN_METHOD;
  const backbone = req.backbone ?? 'resnet18';
  if (req.queue !== undefined && method !== 'moco')
    throw new ApiError('invalid', `--queue is a MoCo setting; ${method} pretraining has no queue of negatives.`);
  if (method === 'projection') {
    if (req.features === undefined)
      throw new ApiError(
        'invalid',
        "Projection pretraining projects the hypercolumn of another run: give --features <run-id> (or 'random').",
      );
    if (req.backbone !== undefined)
      throw new ApiError(
        'invalid',
        "--backbone does not apply to projection pretraining: the --features run's is used.",
      );
  } else {
    for (const [flag, value] of [
      ['--features', req.features],
      ['--dim', req.dim],
    ] as const)
      if (value !== undefined) throw new ApiError('invalid', `${flag} is a projection setting, not one of ${method}.`);
  }
  const features = method === 'projection' ? featureSourceOf(store, req.features!) : null;
  if (features?.kind === 'projection')
    throw new ApiError(
      'invalid',
      `Run ${features.runId} is itself a projection run: project the hypercolumn of a backbone (a pretraining or training run).`,
    );
  const overrides = {
    backbone: backboneConfig(backbone),
    ...(req.size === undefined ? {} : { inputSize: req.size }),
    ...(req.batch === undefined ? {} : { batchSize: req.batch }),
    ...(req.queue === undefined ? {} : { queueSize: req.queue }),
    ...req.overrides,
  };
  let resolved: PretrainMethodConfig & { messages: string[] };
  try {
    resolved =
      method === 'moco'
        ? { method: 'moco', ...resolveMocoConfig(overrides as Partial<MocoConfig>, images.length) }
        : method === 'projection'
          ? {
              method: 'projection',
              config: resolveProjectionConfig(
                {
                  backbone: features!.backbone,
                  featuresRunId: features!.runId,
                  stages: features!.stages,
                  ...(req.size === undefined ? {} : { inputSize: req.size }),
                  ...(req.batch === undefined ? {} : { batchSize: req.batch }),
                  ...(req.dim === undefined ? {} : { dim: req.dim }),
                  ...(req.overrides as Partial<ProjectionConfig>),
                },
                images.length,
              ),
              featuresDir: features!.weightsDir,
              messages: [],
            }
          : {
              method: 'dense-contrastive',
              config: resolveDenseContrastConfig(overrides as Partial<DenseContrastConfig>, images.length),
              messages: [],
            };
  } catch (err) {
    throw new ApiError('invalid', `Cannot pretrain on ${source}: ${(err as Error).message}.`);
  }
  // With only a time budget the epochs stay at the default horizon of the cosine schedule.
  const epochs = req.epochs ?? PRETRAIN_DEFAULTS.epochs;
  const seed = req.seed ?? PRETRAIN_DEFAULTS.seed;
  const methodConfig = resolved.config;
  const config = {
    method,
    backbone: resolved.method === 'projection' ? resolved.config.backbone.arch : backbone,
    ...(resolved.method === 'projection' ? { features: req.features, dim: resolved.config.dim } : {}),
    inputSize: methodConfig.inputSize,
    batchSize: methodConfig.batchSize,
    ...(resolved.method === 'moco' ? { queueSize: resolved.config.queueSize } : {}),
    epochs,
    minutes,
    checkpointMinutes,
    seed,
    folder,
    imageCount: images.length,
    [METHOD_CONFIG_KEY[method]]: methodConfig,
  };
  const payload = {
    ...({
      method: resolved.method,
      config: resolved.config,
      featuresDir: resolved.method === 'projection' ? resolved.featuresDir : null,
    } as PretrainMethodConfig),
    seed,
    images,
    epochs,
    minutes,
    checkpointMinutes,
    resume: false,
    cacheDir: store.cacheDir,
  };
  return { runId: null, config, payload, problems, messages: resolved.messages };
}

/** Step of the checkpoint in `dir` (its weights manifest's metadata), without reading the weights. */
function checkpointStep(dir: string): number {
  try {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      userDefinedMetadata?: { metadata?: { step?: unknown } };
    };
    const step = json.userDefinedMetadata?.metadata?.step;
    if (typeof step === 'number') return step;
  } catch {
    // reported below
  }
  throw new ApiError(
    'invalid',
    `The checkpoint ${dir} is missing or damaged: the run cannot be resumed (start a new run).`,
  );
}

/**
 * Makes the recorded loss curve end exactly at the checkpoint: steps a killed parent never
 * recorded come back from the worker's log, steps after the checkpoint (recomputed by the
 * resumed run) are dropped.
 */
function restoreCurve(store: ProjectStore, runId: number, checkpointDir: string, curveLog: string): void {
  const step = checkpointStep(checkpointDir);
  const lines = existsSync(curveLog) ? readFileSync(curveLog, 'utf8').split('\n') : [];
  store.transaction(() => {
    for (const line of lines) {
      let entry: { step: number; values: Record<string, number> };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // empty, or cut short by a kill
      }
      if (entry.step < step) store.runs.addMetrics(runId, entry.step, entry.values);
    }
    store.runs.dropMetricsFrom(runId, step);
  });
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A worker whose parent was killed stops at its next event-loop turn, possibly after one more
 * step and checkpoint: resuming alongside it would let two processes write one checkpoint.
 */
async function waitForPreviousWorker(pidFile: string, runId: number, timeoutMs = 15_000): Promise<void> {
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return;
  const until = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > until)
      throw new ApiError(
        'conflict',
        `The worker of run ${runId} (pid ${pid}) is still running: stop it before resuming.`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runPretraining(
  store: ProjectStore,
  prepared: PreparedPretraining,
  options: ExecuteOptions & {
    /** Called with the run's id before the job starts (e.g. to cancel it on Ctrl-C). */ onRun?: (
      runId: number,
    ) => void;
  } = {},
): Promise<{ runId: number; outcome: RunOutcome<PretrainResult> }> {
  let runId: number;
  if (prepared.runId === null) {
    runId = createRun(
      store,
      { kind: 'pretrain', method: String(prepared.config.method), config: prepared.config },
      options.runId,
    );
  } else {
    runId = prepared.runId;
    store.runs.setOwner(runId, process.pid);
  }
  const payload: PretrainPayload = {
    ...prepared.payload,
    checkpointDir: path.join(store.modelsDir, modelFolder(runId)),
    checkpointRel: modelFolder(runId),
    curveLog: path.join(store.modelsDir, `${modelFolder(runId)}.curve.jsonl`),
    workerPidFile: path.join(store.modelsDir, `${modelFolder(runId)}.worker.pid`),
  };
  if (prepared.runId !== null) {
    await waitForPreviousWorker(payload.workerPidFile, runId);
    restoreCurve(store, runId, payload.checkpointDir, payload.curveLog);
  }
  options.onRun?.(runId);
  const outcome = await executeRun<PretrainResult>(
    store,
    runId,
    'pretrain',
    payload,
    { done: (result) => ({ ...result, problems: [...prepared.problems, ...prepared.messages, ...result.problems] }) },
    options,
  );
  return { runId, outcome };
}
