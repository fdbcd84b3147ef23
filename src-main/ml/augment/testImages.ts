// Test helpers shared by the augmentation tests: images with dots at known points, and the
// measured position of a dot after a warp.
import type { Tensor4D } from '@tensorflow/tfjs';
import type { Point } from '../../../src-shared/geometry.js';
import { tf } from '../engine.js';

/** A [1, h, w, 3] black image with a Gaussian dot (peak 1) centred at continuous point p. */
export function dotImage(width: number, height: number, p: Point, sigma = 1.2): Tensor4D {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = Math.exp(-((x + 0.5 - p[0]) ** 2 + (y + 0.5 - p[1]) ** 2) / (2 * sigma * sigma));
      data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  return tf.tensor4d(data, [1, height, width, 3]);
}

/** Intensity centroid of channel 0 of batch row `row`, within `radius` px of `near`. */
export function dotCentroid(images: Tensor4D, row: number, near: Point, radius = 5): Point {
  const [, h, w] = images.shape;
  const slice = images.slice([row, 0, 0, 0], [1, h, w, 1]);
  const data = slice.dataSync();
  slice.dispose();
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = Math.max(0, Math.floor(near[1] - radius)); y < Math.min(h, near[1] + radius); y++)
    for (let x = Math.max(0, Math.floor(near[0] - radius)); x < Math.min(w, near[0] + radius); x++) {
      const v = data[y * w + x]!;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      s += v;
    }
  return [sx / s, sy / s];
}
