// Evaluation, parent side: scores a prediction run against the labels of a split with the
// metrics of src-shared/metrics.ts, next to the mean-shape baseline fitted on the training run's
// own labeled images, and records an 'evaluate' run with one evaluation row per metric.
import { ApiError } from '../../src-shared/api.js';
import type { EvaluationReport, LandmarkScores, RunRecord, Split } from '../../src-shared/domain.js';
import type { Point } from '../../src-shared/geometry.js';
import {
  evaluateLandmarks,
  fitMeanShape,
  predictMeanShape,
  type EvalSample,
  type LandmarkMetrics,
  type TruthPoint,
} from '../../src-shared/metrics.js';
import type { EvaluationRow } from '../store/runs.js';
import type { ProjectStore } from '../store/projectStore.js';
import { createRun } from './executeRun.js';
import { runKeypointIds } from './predictRun.js';
import { allItems, itemFrame, itemsOfSplit, labelsOf } from './projectData.js';

const METRICS = ['pixelError', 'nme', 'pck'] as const;

function scores(m: LandmarkMetrics, names: readonly string[]): LandmarkScores {
  const perKeypoint: LandmarkScores['perKeypoint'] = {};
  names.forEach((name, k) => {
    perKeypoint[name] = {
      pixelError: m.pixelErrorPerKeypoint[k] ?? null,
      nme: m.nmePerKeypoint[k] ?? null,
      pck: m.pckPerKeypoint[k] ?? null,
    };
  });
  return { pixelError: m.pixelError, nme: m.nme, pck: m.pck, perKeypoint };
}

function rows(prefix: string, s: LandmarkScores): EvaluationRow[] {
  return METRICS.flatMap((metric) => {
    const value = s[metric];
    if (value === null) return [];
    const perKeypoint = Object.fromEntries(
      Object.entries(s.perKeypoint).flatMap(([name, v]) => (v[metric] === null ? [] : [[name, v[metric]]])),
    ) as Record<string, number>;
    return [{ metric: `${prefix}${metric}`, value, perKeypoint }];
  });
}

const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function evaluatePredictions(
  store: ProjectStore,
  trainRun: RunRecord,
  predictRun: RunRecord,
  split: Split,
): EvaluationReport {
  const keypointIds = runKeypointIds(trainRun);
  const current = new Map(store.keypoints.list().map((k) => [k.id, k.name]));
  const names = keypointIds.map((id) => current.get(id) ?? `#${id} (deleted)`);
  const labeled = itemsOfSplit(store, split).filter((item) => item.labeledCount > 0);
  if (labeled.length === 0)
    throw new ApiError(
      'invalid',
      `No labeled images in the ${split} split to evaluate on: label some, or split the project again.`,
    );

  const predicted = new Map<number, Map<number, Point>>();
  for (const p of store.runs.predictions(predictRun.id)) {
    if (!predicted.has(p.imageId)) predicted.set(p.imageId, new Map());
    predicted.get(p.imageId)!.set(p.keypointId, [p.x, p.y]);
  }
  const problems: string[] = [];
  const modelSamples: EvalSample[] = [];
  const truths: { truth: (TruthPoint | null)[]; item: (typeof labeled)[number] }[] = [];
  for (const item of labeled) {
    const truth = labelsOf(store, item.id, keypointIds);
    const points = predicted.get(item.id);
    if (!points) {
      problems.push(`${item.relPath}: no prediction in run ${predictRun.id} (unreadable, or not in that run's images)`);
      continue;
    }
    const frame = itemFrame(item);
    // A keypoint without prediction has no label either (deleted keypoints lose both).
    const predictedPoints = keypointIds.map((id): Point => points.get(id) ?? [Number.NaN, Number.NaN]);
    if (truth.some((t, k) => t !== null && t.visibility !== 'absent' && Number.isNaN(predictedPoints[k]![0]))) {
      problems.push(`${item.relPath}: labeled keypoints without prediction; left out`);
      continue;
    }
    modelSamples.push({ predicted: predictedPoints, truth, referenceSize: Math.max(frame.w, frame.h) });
    truths.push({ truth, item });
  }
  if (modelSamples.length === 0)
    throw new ApiError(
      'invalid',
      `None of the ${labeled.length} labeled ${split} images has a prediction in run ${predictRun.id}:\n${problems.join('\n')}`,
    );

  const pairIds = store.settings.get('normPair') ?? null;
  const pair = pairIds
    ? ([keypointIds.indexOf(pairIds[0]), keypointIds.indexOf(pairIds[1])] as [number, number])
    : null;
  const normPair = pair && pair[0] >= 0 && pair[1] >= 0 ? pair : null;

  // The baseline knows only the training labels: each keypoint's mean position in its frame.
  const byId = new Map(allItems(store).map((item) => [item.id, item]));
  const trainIds = Array.isArray(trainRun.config.labeledImageIds) ? (trainRun.config.labeledImageIds as number[]) : [];
  const fitted = fitMeanShape(
    trainIds.flatMap((id) => {
      const item = byId.get(id);
      if (!item) return [];
      const points = labelsOf(store, id, keypointIds).map((p): Point | null =>
        p && p.visibility !== 'absent' ? [p.x, p.y] : null,
      );
      return [{ points, frame: itemFrame(item) }];
    }),
  );
  // Training images all gone since: every keypoint at the frame's centre.
  const shape = fitted.length ? fitted : keypointIds.map(() => null);
  const baselineSamples: EvalSample[] = truths.map(({ truth, item }) => ({
    predicted: predictMeanShape(shape, itemFrame(item)),
    truth,
    referenceSize: Math.max(itemFrame(item).w, itemFrame(item).h),
  }));

  const model = evaluateLandmarks(modelSamples, { normPair });
  const baseline = evaluateLandmarks(baselineSamples, { normPair });
  const trainMetrics = trainRun.metrics ?? {};
  const predictMetrics = predictRun.metrics ?? {};
  const summary = {
    trainRunId: trainRun.id,
    predictRunId: predictRun.id,
    split,
    images: model.images,
    points: model.points,
    normalisation: model.normalisation,
    pckAlpha: model.pckAlpha,
    model: scores(model, names),
    baseline: scores(baseline, names),
    backend: trainRun.backend,
    timings: {
      trainSeconds: numberOrNull(trainMetrics.seconds),
      trainImagesPerSecond: numberOrNull(trainMetrics.imagesPerSecond),
      predictSeconds: numberOrNull(predictMetrics.seconds),
      predictImagesPerSecond: numberOrNull(predictMetrics.imagesPerSecond),
    },
    problems,
  };
  const evaluationRunId = createRun(store, {
    kind: 'evaluate',
    method: trainRun.method,
    config: { trainRunId: trainRun.id, predictRunId: predictRun.id, split },
    parentRunId: predictRun.id,
  });
  store.transaction(() => {
    store.runs.markRunning(evaluationRunId, trainRun.backend ?? 'unknown');
    store.runs.addEvaluations(evaluationRunId, [...rows('', summary.model), ...rows('baseline.', summary.baseline)]);
    store.runs.finish(evaluationRunId, 'done', { metrics: summary });
  });
  return { evaluationRunId, ...summary };
}
