// A prediction run, parent side: a finished training run's model over the usable images of a
// split, in a 'predict' run (child of the training run) that holds the predictions.
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { RunRecord, Split } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import { createRun, executeRun, type ExecuteOptions, type RunOutcome } from './executeRun.js';
import type { PredictBatch, PredictPayload, PredictResult } from './jobTypes.js';
import { descriptorSettings } from './matching.js';
import { allItems, itemsOfSplit, jobImage, labelsOf } from './projectData.js';
import { aRunOfKind } from './runNames.js';

/** A training run that finished and has a model; otherwise an ApiError naming what it is. */
export function requireTrainedRun(store: ProjectStore, runId: number): RunRecord {
  const run = store.runs.get(runId);
  if (!run) throw new ApiError('not_found', `No run ${runId} in this project (see 'runs' for the list).`);
  if (run.kind !== 'train')
    throw new ApiError('invalid', `Run ${runId} is ${aRunOfKind(run.kind)}, not a training run.`);
  if (run.status !== 'done' || run.checkpointPath === null) {
    throw new ApiError(
      'invalid',
      `Training run ${runId} has no model: it is ${run.status}${run.error ? ` (${run.error})` : ''}.`,
    );
  }
  return run;
}

/** The keypoint ids a training run predicts, in its output order. */
export function runKeypointIds(run: RunRecord): number[] {
  const ids = run.config.keypointIds;
  if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id)))
    throw new ApiError('internal', `Run ${run.id} records no keypoint list.`);
  return ids as number[];
}

export async function runPrediction(
  store: ProjectStore,
  trainRun: RunRecord,
  split: Split | 'all',
  options: ExecuteOptions = {},
): Promise<{ runId: number; outcome: RunOutcome<PredictResult> }> {
  const items = itemsOfSplit(store, split);
  if (items.length === 0) {
    throw new ApiError(
      'invalid',
      split === 'all'
        ? 'The project has no usable images to predict.'
        : `No usable images in the ${split} split: run 'split' first.`,
    );
  }
  const keypointIds = runKeypointIds(trainRun);
  const runId = createRun(
    store,
    {
      kind: 'predict',
      method: trainRun.method,
      config: { trainRunId: trainRun.id, split, images: items.length },
      parentRunId: trainRun.id,
    },
    options.runId,
  );
  // The run's own labeled images are the references of the matching maps, described by its backbone.
  const labeledIds = new Set(
    Array.isArray(trainRun.config.labeledImageIds) ? (trainRun.config.labeledImageIds as number[]) : [],
  );
  const references = allItems(store)
    .filter((item) => labeledIds.has(item.id) && item.problem === null)
    .map((item) => ({ ...jobImage(store, item), points: labelsOf(store, item.id, keypointIds) }));
  const payload: PredictPayload = {
    modelDir: path.join(store.modelsDir, trainRun.checkpointPath!),
    images: items.map((item) => jobImage(store, item)),
    cacheDir: store.cacheDir,
    matching: references.length ? { ...descriptorSettings(store, trainRun.id), references } : null,
  };
  const outcome = await executeRun<PredictResult, PredictBatch>(
    store,
    runId,
    'predict',
    payload,
    {
      // Each batch is stored as it comes, while the worker predicts the next ones.
      partial: (batch) => storePredictedBatch(store, runId, keypointIds, batch),
      done: (result) => ({
        split,
        images: items.length,
        predicted: result.predicted,
        problems: result.problems,
        seconds: result.seconds,
        imagesPerSecond: result.imagesPerSecond,
      }),
      // A run that does not finish leaves no predictions behind.
      discard: () => store.runs.clearPredictions(runId),
    },
    options,
  );
  return { runId, outcome };
}

/**
 * A batch's predicted points, the head's heatmap behind each (for review, issue 18: read back,
 * never recomputed) and the matching map from the most similar labeled image for each point it
 * labels. Keypoints deleted and images removed since the run started get no rows.
 */
function storePredictedBatch(store: ProjectStore, runId: number, keypointIds: number[], batch: PredictBatch): void {
  const keypoints = new Set(store.keypoints.list().map((k) => k.id));
  const exists = (imageId: number): boolean => store.images.get(imageId) !== undefined;
  const kept = keypointIds.map((id) => keypoints.has(id));
  const predicted = batch.predictions.filter((p) => exists(p.id));
  store.runs.addPredictions(
    runId,
    predicted.flatMap((p) =>
      p.points.flatMap((point, k) => (kept[k] ? [{ imageId: p.id, keypointId: keypointIds[k]!, ...point }] : [])),
    ),
  );
  for (const p of predicted) {
    if (p.heatmaps) {
      const { width, height, bounds, maps } = p.heatmaps;
      maps.forEach((map, k) => {
        if (!kept[k]) return;
        store.overlays.put({
          runId,
          imageId: p.id,
          keypointId: keypointIds[k]!,
          kind: 'heatmap',
          width,
          height,
          bounds,
          values: { float16: map },
          reference: null,
          match: null,
        });
      });
    }
    if (!p.matches || !exists(p.matches.referenceImageId)) continue;
    const { referenceImageId } = p.matches;
    p.matches.keypoints.forEach((m, k) => {
      if (!m || !kept[k]) return;
      store.overlays.put({
        runId,
        imageId: p.id,
        keypointId: keypointIds[k]!,
        kind: 'match',
        width: m.map.width,
        height: m.map.height,
        bounds: m.map.bounds,
        values: { float16: m.map.values },
        reference: { imageId: referenceImageId, x: m.point[0], y: m.point[1] },
        match: m.match,
      });
    });
  }
}
