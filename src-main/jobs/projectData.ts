// What jobs read from a project: usable items by split, their files, their labels in a run's
// keypoint order, and the frame (whole image or crop box) coordinates are relative to.
import path from 'node:path';
import type { CropBox, ImageSummary, Split } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import type { JobImage, JobLabeledImage } from './jobTypes.js';

/** Every item of the project (usable or not), in path order. */
export function allItems(store: ProjectStore): ImageSummary[] {
  const { total } = store.images.list('all', 0, 1);
  return total === 0 ? [] : store.images.list('all', 0, total).items;
}

/** Usable items of a split; 'train' also takes items in no split; 'all' every usable item. */
export function itemsOfSplit(store: ProjectStore, split: Split | 'all'): ImageSummary[] {
  return allItems(store).filter(
    (item) =>
      item.problem === null && (split === 'all' || item.split === split || (split === 'train' && item.split === null)),
  );
}

export function itemFrame(item: Pick<ImageSummary, 'crop' | 'width' | 'height'>): CropBox {
  return item.crop ?? { x: 0, y: 0, w: item.width, h: item.height };
}

export function jobImage(store: ProjectStore, item: ImageSummary): JobImage {
  return {
    id: item.id,
    path: path.join(store.settings.require('imageRoot'), ...item.relPath.split('/')),
    crop: item.crop,
  };
}

/** An item's labels in `keypointIds` order (null where a keypoint has none). */
export function labelsOf(
  store: ProjectStore,
  imageId: number,
  keypointIds: readonly number[],
): JobLabeledImage['points'] {
  const byKeypoint = new Map(store.annotations.listForImage(imageId).map((a) => [a.keypointId, a]));
  return keypointIds.map((id) => {
    const a = byKeypoint.get(id);
    return a ? { x: a.x, y: a.y, visibility: a.visibility } : null;
  });
}
