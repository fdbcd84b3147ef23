/**
 * Soft-argmax: the differentiable expected location of a spatial softmax (paper 000 Appendix A /
 * Sec. 4 "Evaluation": each of the 50 intermediate heatmaps of the landmark regressor is turned
 * into a coordinate this way; papers 003/004 use the same operator on K landmark heatmaps).
 *
 * Coordinates are in feature pixels with pixel centres at +0.5: a heatmap peaked on column j,
 * row i gives (x, y) = (j + 0.5, i + 0.5). Pixel j covers [j, j + 1), so a coordinate converts to
 * input-image pixels by one multiplication: x_image = x * imageWidth / W (no half-pixel offsets).
 */
import { tf } from './engine.js';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs';

/**
 * Spatial softmax of every channel over its H x W locations.
 * @param heatmaps [B, H, W, K] logits.
 * @param temperature divides the logits first (lower = peakier); must be > 0.
 * @returns [B, H, W, K] probabilities, each channel summing to 1.
 */
export function spatialSoftmax(heatmaps: Tensor4D, temperature = 1): Tensor4D {
  if (heatmaps.rank !== 4)
    throw new Error(`spatialSoftmax expects [B, H, W, K] heatmaps, got shape [${heatmaps.shape}]`);
  if (!(temperature > 0)) throw new Error(`spatialSoftmax temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    const [b, h, w, k] = heatmaps.shape;
    const scaled = temperature === 1 ? heatmaps : tf.div(heatmaps, temperature);
    // Softmax runs over the last axis: bring the H*W locations there.
    const flat = tf.transpose(tf.reshape(scaled, [b, h * w, k]), [0, 2, 1]);
    return tf.reshape(tf.transpose(tf.softmax(flat), [0, 2, 1]), [b, h, w, k]) as Tensor4D;
  });
}

/**
 * Expected (x, y) of each channel's spatial softmax.
 * @param heatmaps [B, H, W, K] logits.
 * @param temperature divides the logits before the softmax (default 1); must be > 0.
 * @returns [B, K, 2] coordinates (x, y) in feature pixels, pixel centres at +0.5.
 */
export function softArgmax(heatmaps: Tensor4D, temperature = 1): Tensor3D {
  return tf.tidy(() => {
    const probs = spatialSoftmax(heatmaps, temperature);
    const [, h, w] = probs.shape;
    const xs = tf.add(tf.range(0, w, 1, 'float32'), 0.5).reshape([1, 1, w, 1]);
    const ys = tf.add(tf.range(0, h, 1, 'float32'), 0.5).reshape([1, h, 1, 1]);
    // Marginals first: sum over rows for x, over columns for y ([B, K] each).
    const x = tf.sum(tf.mul(tf.sum(probs, 1, true), xs), [1, 2]);
    const y = tf.sum(tf.mul(tf.sum(probs, 2, true), ys), [1, 2]);
    return tf.stack([x, y], 2) as Tensor3D;
  });
}
