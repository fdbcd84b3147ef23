// A training run, parent side: checks the request against the project (labels, splits, the
// pretraining run named as features), draws the labeled images, records the run with its full
// configuration, runs the 'train' job and records where the model went.
import path from 'node:path';
import { ApiError, MAX_TRAIN_STEPS, type ApiParsed } from '../../src-shared/api.js';
import type { GeometricAugmentation } from '../../src-shared/augmentRanges.js';
import type { AnnotationSource, FineTuneChoice } from '../../src-shared/domain.js';
import { reviewFlipPartners } from '../../src-shared/flipPartners.js';
import { createRng } from '../../src-shared/random.js';
import { HEATMAP_HEAD_DEFAULTS, PAPER_HEAD_DEFAULTS } from '../ml/train/config.js';
import type { ProjectStore } from '../store/projectStore.js';
import { createRun, executeRun, type ExecuteOptions, type RunOutcome } from './executeRun.js';
import type { FeatureSource, JobLabeledImage, TrainedModelSpec, TrainPayload, TrainResult } from './jobTypes.js';
import { allItems, itemFrame, itemsOfSplit, jobImage, labelsOf } from './projectData.js';
import { runAugmentation } from './trainAugment.js';
import { aRunOfKind } from './runNames.js';

export type TrainRequest = ApiParsed<'runs.train'>;

/** Folder of a training run's model, relative to the project's models/. */
export const modelFolder = (runId: number): string => `run-${runId}`;

/** The pretraining run whose checkpoint initialises the backbone (`--features <run-id>`). */
function pretrainedFeatures(store: ProjectStore, runId: number): Extract<FeatureSource, { kind: 'pretrained' }> {
  const run = store.runs.get(runId);
  if (!run)
    throw new ApiError(
      'not_found',
      `No run ${runId} in this project: --features takes 'random' or the id of a pretraining run.`,
    );
  if (run.kind !== 'pretrain') {
    throw new ApiError(
      'invalid',
      `Run ${runId} is ${aRunOfKind(run.kind)}, not a pretraining run: --features takes 'random' or the id of a pretraining run.`,
    );
  }
  if (run.checkpointPath === null) {
    throw new ApiError(
      'invalid',
      `Pretraining run ${runId} has no checkpoint (status ${run.status}): let it write one, or use --features random.`,
    );
  }
  return { kind: 'pretrained', runId, checkpointDir: path.join(store.modelsDir, run.checkpointPath) };
}

function resolveSpec(req: TrainRequest, keypointCount: number): TrainedModelSpec {
  const defaults = req.head === 'paper' ? PAPER_HEAD_DEFAULTS : HEATMAP_HEAD_DEFAULTS;
  const fineTune: FineTuneChoice = req.fineTune ?? (req.head === 'paper' ? 'none' : HEATMAP_HEAD_DEFAULTS.fineTune);
  if (req.head === 'paper' && fineTune !== 'none') {
    throw new ApiError(
      'invalid',
      `The paper head trains on frozen features: use --finetune none, or --head heatmap to fine-tune the backbone.`,
    );
  }
  return {
    head: req.head,
    backbone: req.backbone,
    inputSize: req.size ?? defaults.inputSize,
    fineTune,
    keypointCount,
    seed: req.seed,
    // A budget in minutes alone: the clock, not a step count, ends the run.
    steps: req.steps ?? (req.minutes === undefined ? defaults.steps : MAX_TRAIN_STEPS),
  };
}

/** Left/right partners as index pairs of `keypointIds`, each pair once. */
function flipPairsOf(store: ProjectStore, keypointIds: readonly number[]): [number, number][] {
  const pairs: [number, number][] = [];
  store.keypoints.list().forEach((k) => {
    const a = keypointIds.indexOf(k.id);
    const b = k.flipPartnerId === null ? -1 : keypointIds.indexOf(k.flipPartnerId);
    if (a >= 0 && b > a) pairs.push([a, b]);
  });
  return pairs;
}

export interface PreparedTraining {
  config: Record<string, unknown>;
  spec: TrainedModelSpec;
  features: FeatureSource;
  items: JobLabeledImage[];
  flipPairs: [number, number][];
  /** Wall-clock budget of the training, seconds; null = `spec.steps` alone ends it. */
  budgetSeconds: number | null;
  /** Heatmap head: its geometric augmentation (runAugmentation). */
  augmentation?: GeometricAugmentation;
  /** Labeled train images left out because their file is unusable. */
  warnings: string[];
}

/**
 * Why horizontal flips must stay off for these keypoints (a sided name without a partner), or
 * null when flips are safe.
 */
function flipsOffReason(store: ProjectStore, keypointIds: readonly number[]): string | null {
  const keypoints = store.keypoints.list();
  const nameOf = new Map(keypoints.map((k) => [k.id, k.name]));
  const unpaired = reviewFlipPartners(keypoints, store.keypoints.rejectedFlipPairs()).unpaired.filter((u) =>
    keypointIds.includes(u.keypointId),
  );
  if (unpaired.length === 0) return null;
  const listed = unpaired.slice(0, 3).map((u) => `"${nameOf.get(u.keypointId)!}" (${u.reason})`);
  const more = unpaired.length > 3 ? ` and ${unpaired.length - 3} more` : '';
  return `horizontal flips are off: ${listed.join('; ')}${more} ${unpaired.length === 1 ? 'says it has' : 'say they have'} a side but no flip partner, and a flip would teach ${unpaired.length === 1 ? 'it' : 'them'} to be ${unpaired.length === 1 ? 'its' : 'their'} mirror image; set partners in the schema editor to turn flips on`;
}

/** Everything a training run needs, or an ApiError saying what is missing. Touches nothing. */
export function prepareTraining(store: ProjectStore, req: TrainRequest): PreparedTraining {
  const keypoints = store.keypoints.list();
  if (keypoints.length === 0)
    throw new ApiError('invalid', 'The project has no keypoints: define them and label some images first.');
  const keypointIds = keypoints.map((k) => k.id);
  const spec = resolveSpec(req, keypoints.length);
  const features: FeatureSource =
    req.features === 'random' ? { kind: 'random' } : pretrainedFeatures(store, req.features);

  const candidates = itemsOfSplit(store, 'train').filter((item) => item.labeledCount > 0);
  const unusable = allItems(store)
    .filter((item) => item.labeledCount > 0 && item.problem !== null && item.split !== 'test' && item.split !== 'val')
    .map((item) => `${item.relPath}: its labels are left out (${item.problem})`);
  if (candidates.length === 0) {
    const why = unusable.length
      ? ` (${unusable.length} labeled images are unusable: ${unusable.slice(0, 3).join('; ')})`
      : '';
    throw new ApiError(
      'invalid',
      `No labeled images in the train split${why}: label some images, or move labeled images out of the test/val split.`,
    );
  }
  const count = req.labels ?? candidates.length;
  if (count > candidates.length) {
    throw new ApiError(
      'invalid',
      `Asked for ${count} labeled images but the train split has ${candidates.length}: use --labels ${candidates.length} or fewer, or label more images.`,
    );
  }
  const chosen = createRng(req.seed)
    .shuffled(candidates)
    .slice(0, count)
    .sort((a, b) => a.id - b.id);
  const items = chosen.map((item) => ({ ...jobImage(store, item), points: labelsOf(store, item.id, keypointIds) }));
  const flipPairs = flipPairsOf(store, keypointIds);
  // Only the heatmap head's augmentation flips images; never while a keypoint named for a side
  // lacks its partner (flipsOffReason), whatever the labels' geometry or an override says.
  const flipsOff = spec.head === 'heatmap' ? flipsOffReason(store, keypointIds) : null;
  const chosenAugment =
    req.head === 'heatmap' ? runAugmentation(items, chosen.map(itemFrame), flipPairs, req.augment) : null;
  const augment =
    chosenAugment && flipsOff !== null
      ? { ...chosenAugment, augmentation: { ...chosenAugment.augmentation, flip: false } }
      : chosenAugment;
  const labelSources: Record<AnnotationSource, number> = { human: 0, accepted: 0, corrected: 0 };
  for (const item of chosen) for (const a of store.annotations.listForImage(item.id)) labelSources[a.source] += 1;
  const config = {
    ...spec,
    ...augment,
    // The request's own ranges, so a retrain (review.retrain) asks for the same.
    augmentOverride: req.augment ?? null,
    minutes: req.minutes ?? null,
    horizontalFlips: augment?.augmentation.flip ?? false,
    features: req.features,
    labels: count,
    labeledImageIds: chosen.map((item) => item.id),
    // Points trained on by where they came from: a retrain on reviewed predictions shows them grow.
    labelSources,
    keypointIds,
    keypointNames: keypoints.map((k) => k.name),
  };
  return {
    config,
    spec,
    features,
    items,
    flipPairs,
    budgetSeconds: req.minutes === undefined ? null : req.minutes * 60,
    ...(augment ? { augmentation: augment.augmentation } : {}),
    warnings: [flipsOff, augment?.warning, ...unusable].filter((w): w is string => w !== undefined && w !== null),
  };
}

export async function runTraining(
  store: ProjectStore,
  prepared: PreparedTraining,
  options: ExecuteOptions = {},
): Promise<{ runId: number; outcome: RunOutcome<TrainResult> }> {
  const parentRunId = prepared.features.kind === 'pretrained' ? prepared.features.runId : null;
  const runId = createRun(
    store,
    { kind: 'train', method: prepared.spec.head, config: prepared.config, parentRunId },
    options.runId,
  );
  const payload: TrainPayload = {
    spec: prepared.spec,
    features: prepared.features,
    items: prepared.items,
    flipPairs: prepared.flipPairs,
    budgetSeconds: prepared.budgetSeconds,
    ...(prepared.augmentation ? { augmentation: prepared.augmentation } : {}),
    modelDir: path.join(store.modelsDir, modelFolder(runId)),
    cacheDir: store.cacheDir,
  };
  const outcome = await executeRun<TrainResult>(
    store,
    runId,
    'train',
    payload,
    {
      done: (result) => {
        store.runs.setCheckpoint(runId, modelFolder(runId));
        return { ...result, problems: [...prepared.warnings, ...result.problems] };
      },
    },
    options,
  );
  return { runId, outcome };
}
