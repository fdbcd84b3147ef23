// The heatmap head's geometric augmentation for a training run: chosen from the labels drawn for
// it (src-shared/augmentRanges.ts), with the request's overrides on top. Recorded in the run's
// config (what was used, what the labels called for, and their spread) and handed to the job.
import { ApiError } from '../../src-shared/api.js';
import { chooseAugmentation, type GeometricAugmentation, type LabeledSpread } from '../../src-shared/augmentRanges.js';
import type { CropBox } from '../../src-shared/domain.js';
import type { JobLabeledImage } from './jobTypes.js';

export interface RunAugmentation {
  /** What training uses: the labels' choice with the request's overrides. */
  augmentation: GeometricAugmentation;
  /** What the labels called for. */
  augmentationFromLabels: GeometricAugmentation;
  labeledSpread: LabeledSpread;
}

/** `items[i]`'s points are in original pixels of the image whose frame (image or crop box) is `frames[i]`. */
export function runAugmentation(
  items: readonly Pick<JobLabeledImage, 'points'>[],
  frames: readonly CropBox[],
  flipPairs: readonly (readonly [number, number])[],
  override: Partial<GeometricAugmentation> = {},
): RunAugmentation {
  const samples = items.map((item, i) => {
    const frame = frames[i]!;
    return {
      points: item.points.map((p): [number, number] | null =>
        p && p.visibility !== 'absent' ? [p.x - frame.x, p.y - frame.y] : null,
      ),
      width: frame.w,
      height: frame.h,
    };
  });
  let chosen;
  try {
    chosen = chooseAugmentation(samples, flipPairs);
  } catch (err) {
    throw new ApiError(
      'invalid',
      `Cannot choose the augmentation from the labels: ${(err as Error).message}. Label 2 or more points on an image, or give every range (rotationDegrees, scale, translate, flip).`,
    );
  }
  const given = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  return {
    augmentation: { ...chosen.ranges, ...given },
    augmentationFromLabels: chosen.ranges,
    labeledSpread: chosen.spread,
  };
}
