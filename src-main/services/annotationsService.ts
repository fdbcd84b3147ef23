// Labeling: annotations.* and history.undo / redo. Each change is one transaction holding the
// change and its history row, so an undo step is never half written.
//
// Visibility: 'occluded' and 'absent' keep the point's coordinates, so flipping back to
// 'visible' restores it; training and metrics ignore the coordinates of absent points (and PCK
// those of occluded ones). Marking a point absent before it was ever placed stores it at the
// item's top-left corner, a position that carries no meaning.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { Annotation, AnnotationSource, CropBox, HistoryResult, ImageRecord } from '../../src-shared/domain.js';
import type { AnnotationValue } from '../store/annotations.js';
import type { HistoryChange, TakenStep } from '../store/history.js';
import type { ProjectStore } from '../store/projectStore.js';
import { requireImage } from './imagesService.js';
import { requireKeypoint } from './schemaService.js';
import type { ProjectSession } from './session.js';

type AnnotationHandlers = Pick<
  ApiHandlers,
  | 'annotations.list'
  | 'annotations.set'
  | 'annotations.setVisibility'
  | 'annotations.delete'
  | 'annotations.copyFrom'
  | 'history.undo'
  | 'history.redo'
>;

/** The part of the file an item covers: its crop box, or the whole image. */
export function itemRegion(image: ImageRecord): CropBox {
  return image.crop ?? { x: 0, y: 0, w: image.width, h: image.height };
}

export function requireLabelable(store: ProjectStore, imageId: number): ImageRecord {
  const image = requireImage(store, imageId);
  if (image.problem !== null) {
    throw new ApiError('invalid', `Image ${imageId} (${image.relPath}) cannot be labeled: ${image.problem}.`);
  }
  return image;
}

export function requireInside(image: ImageRecord, x: number, y: number): void {
  const r = itemRegion(image);
  if (x < r.x || x > r.x + r.w || y < r.y || y > r.y + r.h) {
    const where = image.crop ? `its crop box x ${r.x}..${r.x + r.w}, y ${r.y}..${r.y + r.h}` : `0..${r.w} x 0..${r.h}`;
    throw new ApiError(
      'invalid',
      `Point (${x}, ${y}) lies outside image ${image.id} (${image.relPath}): it must be within ${where}.`,
    );
  }
}

/** A human edit of a point that came from the model counts as a correction. */
function editedSource(before: Annotation | undefined): AnnotationSource {
  return before && before.source !== 'human' ? 'corrected' : 'human';
}

export function valueOf(a: Annotation | undefined): AnnotationValue | null {
  return a
    ? { x: a.x, y: a.y, visibility: a.visibility, source: a.source, updatedAt: a.updatedAt, predicted: a.predicted }
    : null;
}

/**
 * Why an undo or redo deserves a word: training runs that started after the step was first made
 * and trained on images it changes keep the labels as they were (their model stays).
 */
function trainedOnNotice(store: ProjectStore, changes: TakenStep, direction: 'undo' | 'redo'): string | undefined {
  const images = new Set(changes.map((c) => c.imageId));
  const runs = store.runs
    .list()
    .filter(
      (r) =>
        r.kind === 'train' &&
        r.startedAt !== null &&
        r.startedAt >= changes.createdAt &&
        Array.isArray(r.config.labeledImageIds) &&
        (r.config.labeledImageIds as unknown[]).some((id) => images.has(id as number)),
    )
    .map((r) => r.id);
  if (runs.length === 0) return undefined;
  const named = runs.length === 1 ? `Training run ${runs[0]}` : `Training runs ${runs.join(', ')}`;
  return `${named} already trained on the labels this ${direction} changed and ${runs.length === 1 ? 'keeps its' : 'keep their'} model: retrain to use the labels as they are now.`;
}

/** Writes annotation values and records them as one undo step; call inside a transaction. */
export function applyChanges(store: ProjectStore, changes: readonly HistoryChange[], now: string): void {
  for (const c of changes) store.annotations.put(c.imageId, c.keypointId, c.after);
  store.history.record(changes, now);
}

export function annotationsHandlers(session: ProjectSession): AnnotationHandlers {
  /** Reverts or re-applies one history step; the answer names the image it changed. */
  const travel = (direction: 'undo' | 'redo'): HistoryResult | null => {
    const store = session.require();
    return store.transaction(() => {
      const changes = direction === 'undo' ? store.history.takeUndo() : store.history.takeRedo();
      if (!changes || changes.length === 0) return null;
      const ordered = direction === 'undo' ? [...changes].reverse() : changes;
      for (const c of ordered)
        store.annotations.put(c.imageId, c.keypointId, direction === 'undo' ? c.before : c.after);
      const imageId = changes[0]!.imageId;
      const notice = trainedOnNotice(store, changes, direction);
      return { imageId, annotations: store.annotations.listForImage(imageId), ...(notice ? { notice } : {}) };
    });
  };

  return {
    'annotations.list'({ imageId }) {
      const store = session.require();
      requireImage(store, imageId);
      return store.annotations.listForImage(imageId);
    },

    'annotations.set'({ imageId, keypointId, x, y, visibility }) {
      const store = session.require();
      return store.transaction(() => {
        const image = requireLabelable(store, imageId);
        requireKeypoint(store, keypointId);
        requireInside(image, x, y);
        const before = store.annotations.get(imageId, keypointId);
        const now = new Date().toISOString();
        const after: AnnotationValue = {
          x,
          y,
          visibility,
          source: editedSource(before),
          updatedAt: now,
          predicted: before?.predicted ?? null,
        };
        applyChanges(store, [{ imageId, keypointId, before: valueOf(before), after }], now);
        return { imageId, keypointId, ...after };
      });
    },

    'annotations.setVisibility'({ imageId, keypointId, visibility }) {
      const store = session.require();
      return store.transaction(() => {
        const image = requireLabelable(store, imageId);
        const keypoint = requireKeypoint(store, keypointId);
        const before = store.annotations.get(imageId, keypointId);
        if (!before && visibility !== 'absent') {
          throw new ApiError(
            'not_found',
            `"${keypoint.name}" has no point on image ${imageId} yet: place it first (annotations.set).`,
          );
        }
        const region = itemRegion(image);
        const now = new Date().toISOString();
        const after: AnnotationValue = {
          x: before?.x ?? region.x,
          y: before?.y ?? region.y,
          visibility,
          source: editedSource(before),
          updatedAt: now,
          predicted: before?.predicted ?? null,
        };
        applyChanges(store, [{ imageId, keypointId, before: valueOf(before), after }], now);
        return { imageId, keypointId, ...after };
      });
    },

    'annotations.delete'({ imageId, keypointId }) {
      const store = session.require();
      return store.transaction(() => {
        requireImage(store, imageId);
        requireKeypoint(store, keypointId);
        const before = store.annotations.get(imageId, keypointId);
        if (!before) return { deleted: false };
        applyChanges(store, [{ imageId, keypointId, before: valueOf(before), after: null }], new Date().toISOString());
        return { deleted: true };
      });
    },

    /**
     * Copies every point of another item, placed at the same position relative to the item's
     * region (so crop-to-crop copies keep their place) and clamped into this item. Overwrites
     * this item's points for those keypoints; its other points stay. One undo step.
     */
    'annotations.copyFrom'({ imageId, fromImageId }) {
      const store = session.require();
      return store.transaction(() => {
        if (imageId === fromImageId)
          throw new ApiError('invalid', 'annotations.copyFrom: the source and target image are the same.');
        const target = requireLabelable(store, imageId);
        const from = itemRegion(requireImage(store, fromImageId));
        const to = itemRegion(target);
        const now = new Date().toISOString();
        const changes = store.annotations.listForImage(fromImageId).map((a): HistoryChange => {
          const before = store.annotations.get(imageId, a.keypointId);
          const clamp = (v: number, lo: number, size: number) => Math.min(Math.max(v, lo), lo + size);
          return {
            imageId,
            keypointId: a.keypointId,
            before: valueOf(before),
            after: {
              x: clamp(a.x - from.x + to.x, to.x, to.w),
              y: clamp(a.y - from.y + to.y, to.y, to.h),
              visibility: a.visibility,
              source: editedSource(before),
              updatedAt: now,
              predicted: before?.predicted ?? null,
            },
          };
        });
        applyChanges(store, changes, now);
        return store.annotations.listForImage(imageId);
      });
    },

    'history.undo'() {
      return travel('undo');
    },

    'history.redo'() {
      return travel('redo');
    },
  };
}
