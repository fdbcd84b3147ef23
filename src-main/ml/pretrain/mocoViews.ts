// The two random views of each image that MoCo contrasts (paper 000 Sec. 3.1 "Transformations";
// MoCo v2's augmentation): random resized crop, a thin-plate-spline warp, colour jitter,
// grayscale and blur, then the networks' ImageNet normalisation. Both views of an image are drawn
// independently from the step's Rng, so a step's views are reproducible from (seed, step).
import type { Rng } from '../../../src-shared/random.js';
import { photometricJitter } from '../augment/photometric.js';
import { sampleTps, warpTps } from '../augment/tps.js';
import { tf } from '../engine.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import { normalizeImageNet } from '../image/normalize.js';
import type { MocoConfig } from './mocoConfig.js';
import { randomResizedCrop } from './randomResizedCrop.js';

/**
 * Side of the images views are cut from, in view sides. Views are random resized crops of as
 * little as a fifth of the image: read at twice the view size, such a crop is resampled from
 * about as many pixels as it shows instead of upscaled.
 */
export const VIEW_SOURCE_SCALE = 2;

type ViewConfig = Pick<MocoConfig, 'inputSize' | 'cropMinScale' | 'cropAspect' | 'photometric' | 'tps'>;

/** One augmented view of every image: [B, inputSize, inputSize, 3], normalised for the backbone. */
export function makeView(images: Tensor4D, rng: Rng, config: ViewConfig): Tensor4D {
  return tf.tidy(() => {
    let view = randomResizedCrop(images, rng, config.inputSize, config.cropMinScale, config.cropAspect);
    if (config.tps) {
      const tps = config.tps;
      view = warpTps(
        view,
        Array.from({ length: view.shape[0] }, () => sampleTps(rng, tps)),
      );
    }
    return normalizeImageNet(photometricJitter(view, rng, config.photometric));
  });
}

/** [query views, key views] of a batch of RGB images in [0, 1]; the caller disposes both. */
export function makeMocoViews(images: Tensor4D, rng: Rng, config: ViewConfig): [Tensor4D, Tensor4D] {
  return [makeView(images, rng, config), makeView(images, rng, config)];
}
