// review.*: the predictions of a prediction run, least confident first; accepting them as labels
// (source 'accepted'), correcting them (source 'corrected'), each keeping the predicted position
// and run beside it (the label's provenance, restored by undo/redo like the rest of the label);
// which images were reviewed; and suggestions of what to label next from a model's features.
// Predictions never overwrite a human (or corrected) label unless the caller asks to.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type {
  Annotation,
  ImageRecord,
  ImageSummary,
  Prediction,
  ReviewItem,
  RunRecord,
} from '../../src-shared/domain.js';
import { suggestImages } from '../../src-shared/suggest.js';
import { itemsOfSplit } from '../jobs/projectData.js';
import type { AnnotationValue } from '../store/annotations.js';
import type { HistoryChange } from '../store/history.js';
import type { ProjectStore } from '../store/projectStore.js';
import { applyChanges, requireInside, requireLabelable, valueOf } from './annotationsService.js';
import { requireImage } from './imagesService.js';
import { requireKeypoint } from './schemaService.js';
import type { ProjectSession } from './session.js';

type ReviewHandlers = Pick<
  ApiHandlers,
  | 'review.list'
  | 'review.acceptImage'
  | 'review.acceptPoint'
  | 'review.correct'
  | 'review.markReviewed'
  | 'review.progress'
  | 'review.suggest'
>;

/** A finished prediction run; otherwise an ApiError saying what the run is. */
export function requirePredictionRun(store: ProjectStore, runId: number): RunRecord {
  const run = store.runs.get(runId);
  if (!run) throw new ApiError('not_found', `No run ${runId} in this project: it may have been deleted.`);
  if (run.kind !== 'predict')
    throw new ApiError('invalid', `Run ${runId} is not a prediction run: review the predictions of a prediction run.`);
  if (run.status !== 'done')
    throw new ApiError(
      'invalid',
      `Prediction run ${runId} is ${run.status}${run.error ? ` (${run.error})` : ''}: it has no predictions to review.`,
    );
  return run;
}

function summary(image: ImageRecord): ImageSummary {
  const { hash: _hash, orientation: _orientation, ...rest } = image;
  return rest;
}

/** The run's predictions of one image; an ApiError when it has none (not predicted, or removed since). */
function predictionsOfImage(store: ProjectStore, runId: number, image: ImageRecord): Prediction[] {
  const predictions = store.runs.predictionsOf(runId, image.id);
  if (predictions.length === 0)
    throw new ApiError(
      'not_found',
      `Prediction run ${runId} has no prediction for image ${image.id} (${image.relPath}): it was not among the run's images, or was rescanned since; predict again to include it.`,
    );
  return predictions;
}

/** Labels a prediction must not replace unless asked: a person placed or moved them. */
const byAPerson = (label: Annotation | undefined): label is Annotation =>
  label !== undefined && (label.source === 'human' || label.source === 'corrected');

type Acceptance = { change: HistoryChange } | { unchanged: Annotation } | { refused: string };

/** What accepting prediction `p` as a label would change (call inside a transaction). */
function acceptance(
  store: ProjectStore,
  image: ImageRecord,
  p: Prediction,
  overwrite: boolean,
  now: string,
): Acceptance {
  const before = store.annotations.get(image.id, p.keypointId);
  if (before?.source === 'accepted' && before.predicted?.runId === p.runId && before.x === p.x && before.y === p.y)
    return { unchanged: before };
  if (byAPerson(before) && !overwrite) {
    const name = store.keypoints.get(p.keypointId)?.name ?? `keypoint ${p.keypointId}`;
    return {
      refused: `"${name}" on image ${image.id} already has a ${before.source === 'human' ? 'human' : 'corrected'} label: it is kept (accept with overwrite to replace it)`,
    };
  }
  requireInside(image, p.x, p.y);
  const after: AnnotationValue = {
    x: p.x,
    y: p.y,
    visibility: 'visible',
    source: 'accepted',
    updatedAt: now,
    predicted: { x: p.x, y: p.y, runId: p.runId },
  };
  return { change: { imageId: image.id, keypointId: p.keypointId, before: valueOf(before), after } };
}

export function reviewHandlers(session: ProjectSession): ReviewHandlers {
  return {
    'review.list'({ runId, keypointId, filter, offset, limit }) {
      const store = session.require();
      requirePredictionRun(store, runId);
      if (keypointId !== undefined) requireKeypoint(store, keypointId);
      const reviewed = store.review.reviewedImages(runId);
      const byImage = new Map<number, Prediction[]>();
      for (const p of store.runs.predictions(runId)) {
        const list = byImage.get(p.imageId);
        if (list) list.push(p);
        else byImage.set(p.imageId, [p]);
      }
      const order = new Map(store.keypoints.list().map((k) => [k.id, k.order]));
      const ranked: { image: ImageRecord; score: number; predictions: Prediction[] }[] = [];
      for (const [imageId, predictions] of byImage) {
        const scored = keypointId === undefined ? predictions : predictions.filter((p) => p.keypointId === keypointId);
        if (scored.length === 0) continue;
        const image = store.images.get(imageId)!;
        const isReviewed = reviewed.has(imageId);
        const keep =
          filter === 'all' ||
          (filter === 'unlabeled' && image.labeledCount === 0) ||
          (filter === 'labeled' && image.labeledCount > 0) ||
          (filter === 'reviewed' && isReviewed) ||
          (filter === 'unreviewed' && !isReviewed);
        if (keep) ranked.push({ image, score: Math.min(...scored.map((p) => p.confidence)), predictions });
      }
      ranked.sort((a, b) => a.score - b.score || a.image.id - b.image.id);
      const items = ranked.slice(offset, offset + limit).map(({ image, score, predictions }): ReviewItem => {
        const labels = new Map(store.annotations.listForImage(image.id).map((a) => [a.keypointId, a]));
        const points = predictions
          .map((p) => {
            const label = labels.get(p.keypointId) ?? null;
            const distance = label && label.visibility !== 'absent' ? Math.hypot(label.x - p.x, label.y - p.y) : null;
            return { keypointId: p.keypointId, x: p.x, y: p.y, confidence: p.confidence, label, distance };
          })
          .sort((a, b) => (order.get(a.keypointId) ?? 0) - (order.get(b.keypointId) ?? 0));
        return { image: summary(image), score, reviewed: reviewed.has(image.id), points };
      });
      return { total: ranked.length, items };
    },

    'review.acceptImage'({ runId, imageId, overwrite }) {
      const store = session.require();
      return store.transaction(() => {
        requirePredictionRun(store, runId);
        const image = requireLabelable(store, imageId);
        const now = new Date().toISOString();
        const changes: HistoryChange[] = [];
        const skipped: { keypointId: number; reason: string }[] = [];
        for (const p of predictionsOfImage(store, runId, image)) {
          const outcome = acceptance(store, image, p, overwrite, now);
          if ('change' in outcome) changes.push(outcome.change);
          else if ('refused' in outcome) skipped.push({ keypointId: p.keypointId, reason: outcome.refused });
        }
        applyChanges(store, changes, now);
        store.review.setReviewed(runId, imageId, true, now);
        return { annotations: store.annotations.listForImage(imageId), accepted: changes.length, skipped };
      });
    },

    'review.acceptPoint'({ runId, imageId, keypointId, overwrite }) {
      const store = session.require();
      return store.transaction(() => {
        requirePredictionRun(store, runId);
        const image = requireLabelable(store, imageId);
        requireKeypoint(store, keypointId);
        const prediction = predictionsOfImage(store, runId, image).find((p) => p.keypointId === keypointId);
        if (!prediction)
          throw new ApiError(
            'not_found',
            `Prediction run ${runId} has no prediction of keypoint ${keypointId} on image ${imageId}.`,
          );
        const now = new Date().toISOString();
        const outcome = acceptance(store, image, prediction, overwrite, now);
        // Accepted already (another window got there first): the same label, no second undo step.
        if ('unchanged' in outcome) return outcome.unchanged;
        if ('refused' in outcome) throw new ApiError('conflict', `${outcome.refused}.`);
        applyChanges(store, [outcome.change], now);
        return store.annotations.get(imageId, keypointId)!;
      });
    },

    'review.correct'({ runId, imageId, keypointId, x, y, visibility, overwrite }) {
      const store = session.require();
      return store.transaction(() => {
        requirePredictionRun(store, runId);
        const image = requireLabelable(store, imageId);
        const keypoint = requireKeypoint(store, keypointId);
        const prediction = predictionsOfImage(store, runId, image).find((p) => p.keypointId === keypointId);
        if (!prediction)
          throw new ApiError(
            'not_found',
            `Prediction run ${runId} has no prediction of keypoint ${keypointId} on image ${imageId}.`,
          );
        requireInside(image, x, y);
        const before = store.annotations.get(imageId, keypointId);
        if (before?.source === 'human' && !overwrite)
          throw new ApiError(
            'conflict',
            `"${keypoint.name}" on image ${imageId} already has a human label: it is kept (correct with overwrite to replace it).`,
          );
        const now = new Date().toISOString();
        const after: AnnotationValue = {
          x,
          y,
          visibility,
          source: 'corrected',
          updatedAt: now,
          predicted: { x: prediction.x, y: prediction.y, runId },
        };
        applyChanges(store, [{ imageId, keypointId, before: valueOf(before), after }], now);
        return store.annotations.get(imageId, keypointId)!;
      });
    },

    'review.markReviewed'({ runId, imageId, reviewed }) {
      const store = session.require();
      return store.transaction(() => {
        requirePredictionRun(store, runId);
        predictionsOfImage(store, runId, requireImage(store, imageId));
        store.review.setReviewed(runId, imageId, reviewed, new Date().toISOString());
        return { reviewed };
      });
    },

    'review.progress'({ runId }) {
      const store = session.require();
      requirePredictionRun(store, runId);
      const predicted = new Set(store.runs.predictions(runId).map((p) => p.imageId));
      const reviewed = [...store.review.reviewedImages(runId)].filter((id) => predicted.has(id)).length;
      return { runId, total: predicted.size, reviewed, ...store.review.provenance(runId) };
    },

    'review.suggest'({ runId, count }) {
      const store = session.require();
      const features = store.runs
        .list()
        .filter((r) => r.kind === 'features' && r.status === 'done' && r.parentRunId === runId)
        .at(-1);
      if (!features) {
        const run = store.runs.get(runId);
        if (!run || run.kind !== 'train')
          throw new ApiError(
            'not_found',
            `No training run ${runId} in this project: suggestions come from a training run's features.`,
          );
        throw new ApiError(
          'invalid',
          `Training run ${runId} has no features computed yet: start a features run of it (runs.start kind 'features', or the suggest command) first.`,
        );
      }
      const vectors = store.review.features(features.id);
      const usable = itemsOfSplit(store, 'all');
      const prediction = store.runs
        .list()
        .filter((r) => r.kind === 'predict' && r.status === 'done' && r.parentRunId === runId)
        .at(-1);
      const confidence = new Map<number, number>();
      if (prediction)
        for (const p of store.runs.predictions(prediction.id))
          confidence.set(p.imageId, Math.min(confidence.get(p.imageId) ?? 1, p.confidence));
      const picks = suggestImages({
        vectors,
        labeled: usable.filter((i) => i.labeledCount > 0).map((i) => i.id),
        candidates: usable.filter((i) => i.labeledCount === 0).map((i) => i.id),
        confidence: prediction ? confidence : undefined,
        count,
      });
      const byId = new Map(usable.map((i) => [i.id, i]));
      return picks.map((p) => ({ image: byId.get(p.id)!, distance: p.distance, confidence: p.confidence }));
    },
  };
}
