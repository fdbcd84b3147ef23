// The labeled images a few-shot head trains on: decoded once, fitted into the network input
// (letterbox or stretch), kept in memory as 8-bit pixels (5-100 images of 96-320 px are a few MB),
// with each point in input pixels and a mask of the points that count in the loss.
// Bad items are reported, not fatal: a label on an image that no longer exists or cannot be
// decoded, or a point outside its image, is listed in `problems` and left out.
import type { Visibility } from '../../../src-shared/domain.js';
import {
  isInside,
  toInputPoint,
  type InputTransform,
  type MaybePoint,
  type ResizeMode,
} from '../../../src-shared/geometry.js';
import { preprocessImage, type ImageSource } from '../image/preprocess.js';

/** A labeled point in original image pixels. */
export interface LabeledPoint {
  x: number;
  y: number;
  visibility: Visibility;
}

/** One labeled image, as a job hands it over (points indexed like the keypoint schema). */
export interface LabeledItem extends ImageSource {
  /** Stable id used in problem reports (e.g. the image id of the store). */
  id: string | number;
  /** One entry per keypoint; null = not labeled. */
  points: readonly (LabeledPoint | null)[];
}

export interface LabeledExample {
  id: string | number;
  /** inputSize x inputSize x 3 RGB bytes. */
  pixels: Uint8Array;
  transform: InputTransform;
  /** Points in input pixels (null = not labeled). Occluded points keep their position here. */
  points: MaybePoint[];
  /** True where the point counts in the loss: labeled, visible and inside its image. */
  mask: boolean[];
}

export interface LabeledSet {
  examples: LabeledExample[];
  keypointCount: number;
  /** Human-readable reasons items or points were left out. */
  problems: string[];
  /** Keypoint indices no example has a visible label for: the head cannot learn them. */
  unlabeledKeypoints: number[];
}

export interface LoadOptions {
  inputSize: number;
  mode: ResizeMode;
  keypointCount: number;
  cacheDir?: string | null;
}

/** Visible points are trained on; occluded and absent ones are ignored by the loss. */
function countsInLoss(visibility: Visibility): boolean {
  return visibility === 'visible';
}

export async function loadLabeledExamples(items: readonly LabeledItem[], options: LoadOptions): Promise<LabeledSet> {
  const { keypointCount } = options;
  if (items.length === 0) throw new Error('training needs labeled images: none were given (label a few images first)');
  const problems: string[] = [];
  const examples: LabeledExample[] = [];
  for (const item of items) {
    if (item.points.length !== keypointCount) {
      problems.push(`image ${item.id}: ${item.points.length} points for ${keypointCount} keypoints; left out`);
      continue;
    }
    let loaded;
    try {
      loaded = await preprocessImage(item, { size: options.inputSize, mode: options.mode, cacheDir: options.cacheDir });
    } catch (err) {
      problems.push(
        `image ${item.id} (${item.path}) cannot be read: ${(err as Error).message}; its labels are left out`,
      );
      continue;
    }
    const frame = item.crop ?? { x: 0, y: 0, w: loaded.imageWidth, h: loaded.imageHeight };
    const points: MaybePoint[] = [];
    const mask: boolean[] = [];
    item.points.forEach((p, k) => {
      if (p === null || p.visibility === 'absent') {
        points.push(null);
        mask.push(false);
        return;
      }
      const inside =
        Number.isFinite(p.x) && Number.isFinite(p.y) && isInside([p.x - frame.x, p.y - frame.y], frame.w, frame.h);
      if (!inside) {
        problems.push(
          `image ${item.id}: keypoint ${k} at (${p.x}, ${p.y}) is outside the ${frame.w}x${frame.h} image; ignored`,
        );
        points.push(null);
        mask.push(false);
        return;
      }
      points.push(toInputPoint(loaded.transform, [p.x, p.y]));
      mask.push(countsInLoss(p.visibility));
    });
    if (!mask.some(Boolean)) {
      problems.push(`image ${item.id} has no visible labeled point; left out`);
      continue;
    }
    examples.push({ id: item.id, pixels: loaded.data, transform: loaded.transform, points, mask });
  }
  if (examples.length === 0) {
    throw new Error(`none of the ${items.length} labeled images can be used for training:\n${problems.join('\n')}`);
  }
  const unlabeledKeypoints = Array.from({ length: keypointCount }, (_, k) => k).filter(
    (k) => !examples.some((e) => e.mask[k]),
  );
  return { examples, keypointCount, problems, unlabeledKeypoints };
}
