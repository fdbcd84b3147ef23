// The heatmap head's geometric augmentation for a training run: chosen from the labels drawn for
// it (src-shared/augmentRanges.ts), with the request's overrides on top. Recorded in the run's
// config (what was used, what the labels called for, and their spread) and handed to the job.
import { chooseAugmentation, type GeometricAugmentation, type LabeledSpread } from '../../src-shared/augmentRanges.js';
import type { CropBox } from '../../src-shared/domain.js';
import type { JobLabeledImage } from './jobTypes.js';

export interface RunAugmentation {
  /** What training uses: the labels' choice with the request's overrides. */
  augmentation: GeometricAugmentation;
  /** What the labels called for. */
  augmentationFromLabels: GeometricAugmentation;
  /** null when the labels cannot show a spread (no image has 2 labeled points). */
  labeledSpread: LabeledSpread | null;
  /** Set when the ranges could not come from the labels: what was used instead and why. */
  warning?: string;
}

/**
 * The ranges when the labels give no orientation (one point per image): those of a free-moving
 * animal seen from above, which assume nothing about the data (earlier versions' fixed recipe).
 */
const ASSUME_NOTHING: GeometricAugmentation = {
  rotationDegrees: 180,
  scale: [0.8, 1.25],
  translate: 'anywhere',
  flip: true,
};

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
  const given = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  let chosen;
  try {
    chosen = chooseAugmentation(samples, flipPairs);
  } catch (err) {
    return {
      augmentation: { ...ASSUME_NOTHING, ...given },
      augmentationFromLabels: ASSUME_NOTHING,
      labeledSpread: null,
      warning: `augmentation ranges not chosen from the labels (${(err as Error).message}): the widest ones are used (rotation +-180 degrees, scale 0.8-1.25, shift anywhere); label 2 or more points on some images, or set the ranges`,
    };
  }
  return {
    augmentation: { ...chosen.ranges, ...given },
    augmentationFromLabels: chosen.ranges,
    labeledSpread: chosen.spread,
  };
}
