// A prediction run, parent side: a finished training run's model over the usable images of a
// split, in a 'predict' run (child of the training run) that holds the predictions.
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { RunRecord, Split } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import { createRun, executeRun, type ExecuteOptions, type RunOutcome } from './executeRun.js';
import type { PredictPayload, PredictResult } from './jobTypes.js';
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
  const outcome = await executeRun<PredictResult>(
    store,
    runId,
    'predict',
    payload,
    (result) => {
      // Keypoints deleted or images gone since training get no prediction rows.
      const keypoints = new Set(store.keypoints.list().map((k) => k.id));
      const images = new Set(allItems(store).map((item) => item.id));
      store.transaction(() => {
        store.runs.setPredictions(
          runId,
          result.predictions.flatMap((p) =>
            images.has(p.id)
              ? p.points.flatMap((point, k) =>
                  keypoints.has(keypointIds[k]!) ? [{ imageId: p.id, keypointId: keypointIds[k]!, ...point }] : [],
                )
              : [],
          ),
        );
        // The head's heatmap behind each predicted point, for review (issue 18): read back, never recomputed.
        for (const p of result.predictions) {
          if (!p.heatmaps || !images.has(p.id)) continue;
          const { width, height, bounds, maps } = p.heatmaps;
          maps.forEach((map, k) => {
            if (!keypoints.has(keypointIds[k]!)) return;
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
        // The matching map from the most similar labeled image, for each point it labels.
        for (const p of result.predictions) {
          if (!p.matches || !images.has(p.id)) continue;
          const { referenceImageId, keypoints: matched } = p.matches;
          if (!images.has(referenceImageId)) continue;
          matched.forEach((m, k) => {
            if (!m || !keypoints.has(keypointIds[k]!)) return;
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
      });
      return {
        split,
        images: items.length,
        predicted: result.predictions.length,
        problems: result.problems,
        seconds: result.seconds,
        imagesPerSecond: result.imagesPerSecond,
      };
    },
    options,
  );
  return { runId, outcome };
}
