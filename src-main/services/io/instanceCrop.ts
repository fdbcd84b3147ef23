// Several instances in one file (faces in a photo, animals in a frame) become one crop item each,
// cut from the instance's box (COCO bbox, labels.json bbox) or, without one, from the extent of
// its labeled points. A file holding a single instance stays a whole-image item.
import type { CropBox } from '../../../src-shared/domain.js';
import { formatError } from './labelSet.js';
import type { ImageSize, LabeledPoint, LabelSetItem } from './labelSet.js';

export const INSTANCE_CROP = {
  /**
   * Added on each side as a fraction of the box's width/height: the crop is 1.25x the box,
   * mmpose's default bbox padding, so the points near a tight box's edge keep some context.
   */
  margin: 0.125,
  /** Smallest side (pixels) of a box taken from points alone: one labeled point has no extent. */
  minPointBoxSide: 32,
} as const;

/** An instance as a file states it, before the crop is decided. */
export interface Instance {
  file: string;
  /** The file's own box for this instance ([left, top, width, height]), if it has one. */
  box: CropBox | null;
  points: (LabeledPoint | null)[];
  /** Known for COCO; null where the format carries no size (crops are then clamped at 0 only). */
  imageSize: ImageSize | null;
  /** Where the instance is in the file, for error messages. */
  at: { line?: number; field?: string };
}

function labeledExtent(points: readonly (LabeledPoint | null)[]): CropBox | null {
  const placed = points.filter((p): p is LabeledPoint => p !== null && p.visibility !== 'absent');
  if (placed.length === 0) return null;
  const xs = placed.map((p) => p.x);
  const ys = placed.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

function grownTo(box: CropBox, side: number): CropBox {
  const w = Math.max(box.w, side);
  const h = Math.max(box.h, side);
  return { x: box.x + (box.w - w) / 2, y: box.y + (box.h - h) / 2, w, h };
}

/**
 * The crop of one instance: its box (or its points' extent, at least minPointBoxSide) expanded by
 * the margin, rounded to whole pixels, grown to hold every labeled point, clamped to the image.
 * Null when there is nothing to cut from or nothing is left inside the image. Cutting again from
 * boxFromCrop(crop) gives the same crop, which keeps export/import round trips exact.
 */
export function instanceCrop(
  box: CropBox | null,
  points: readonly (LabeledPoint | null)[],
  imageSize: ImageSize | null,
): CropBox | null {
  const extent = labeledExtent(points);
  const base = box && box.w > 0 && box.h > 0 ? box : extent && grownTo(extent, INSTANCE_CROP.minPointBoxSide);
  if (!base) return null;
  const m = INSTANCE_CROP.margin;
  let x0 = Math.round(base.x - m * base.w);
  let y0 = Math.round(base.y - m * base.h);
  let x1 = Math.round(base.x + base.w + m * base.w);
  let y1 = Math.round(base.y + base.h + m * base.h);
  if (extent) {
    x0 = Math.min(x0, Math.floor(extent.x));
    y0 = Math.min(y0, Math.floor(extent.y));
    x1 = Math.max(x1, Math.ceil(extent.x + extent.w));
    y1 = Math.max(y1, Math.ceil(extent.y + extent.h));
  }
  return clampCrop({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, imageSize);
}

/** The box a crop was cut from (the margin taken off again): what exporters write as a bbox. */
export function boxFromCrop(crop: CropBox): CropBox {
  const w = crop.w / (1 + 2 * INSTANCE_CROP.margin);
  const h = crop.h / (1 + 2 * INSTANCE_CROP.margin);
  return { x: crop.x + INSTANCE_CROP.margin * w, y: crop.y + INSTANCE_CROP.margin * h, w, h };
}

/**
 * The part of a crop inside the image (at 0 only when the size is unknown); null when less than
 * a pixel is left. Formats without image sizes (DeepLabCut, labels.json) leave the right and
 * bottom edges to the caller, who knows the image.
 */
export function clampCrop(crop: CropBox, imageSize: ImageSize | null): CropBox | null {
  const x0 = Math.max(0, crop.x);
  const y0 = Math.max(0, crop.y);
  const x1 = imageSize ? Math.min(imageSize.width, crop.x + crop.w) : crop.x + crop.w;
  const y1 = imageSize ? Math.min(imageSize.height, crop.y + crop.h) : crop.y + crop.h;
  return x1 - x0 >= 1 && y1 - y0 >= 1 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

/**
 * One item per instance, in file order. Files with one instance (or none that can be cut) keep a
 * single whole-image item; in files with several, each instance with a box or a labeled point
 * gets its crop, and instances with neither (nothing to cut, nothing labeled) are left out.
 */
export function itemsFromInstances(instances: readonly Instance[]): LabelSetItem[] {
  const cuttable = (inst: Instance) =>
    (inst.box !== null && inst.box.w > 0 && inst.box.h > 0) || labeledExtent(inst.points) !== null;
  const perFile = new Map<string, number>();
  for (const inst of instances) if (cuttable(inst)) perFile.set(inst.file, (perFile.get(inst.file) ?? 0) + 1);

  const items: LabelSetItem[] = [];
  const wholeImageDone = new Set<string>();
  const cropsSeen = new Map<string, Instance>();
  for (const inst of instances) {
    const count = perFile.get(inst.file) ?? 0;
    if (count <= 1) {
      // The single cuttable instance, or the first of a file where none is: the whole image.
      if (wholeImageDone.has(inst.file) || (count === 1 && !cuttable(inst))) continue;
      wholeImageDone.add(inst.file);
      items.push({ file: inst.file, crop: null, points: inst.points });
      continue;
    }
    if (!cuttable(inst)) continue;
    const crop = instanceCrop(inst.box, inst.points, inst.imageSize);
    if (!crop) {
      throw formatError(
        `the instance in "${inst.file}" lies outside the image (${inst.imageSize?.width}x${inst.imageSize?.height})`,
        inst.at,
      );
    }
    const key = JSON.stringify([inst.file, crop.x, crop.y, crop.w, crop.h]);
    const twin = cropsSeen.get(key);
    if (twin) {
      const first = twin.at.line !== undefined ? `line ${twin.at.line}` : twin.at.field;
      throw formatError(
        `this instance of "${inst.file}" has the same box as the one at ${first} (listed twice?)`,
        inst.at,
      );
    }
    cropsSeen.set(key, inst);
    items.push({ file: inst.file, crop, points: inst.points });
  }
  return items;
}
