// Random resized crop, the geometric core of MoCo's views (torchvision's RandomResizedCrop, as in
// MoCo v2 with scale (0.2, 1)): a box of random area share and aspect ratio at a random place,
// resized to the network input. Sampled on the host from a seeded Rng, applied to the whole batch
// by one tf.image.cropAndResize.
import type { Rng } from '../../../src-shared/random.js';
import { tf } from '../engine.js';
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs';

export interface CropBoxSample {
  /** Top-left corner and size in continuous pixel coordinates of the source image. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * torchvision's sampling: area share uniform in `scale` ([0.2, 1] in MoCo v2), log aspect ratio uniform in
 * [log a0, log a1]; up to 10 tries for a box that fits, else the largest centred box whose
 * aspect ratio is within the range.
 */
export function sampleCropBox(
  rng: Rng,
  width: number,
  height: number,
  scale: readonly [number, number],
  aspect: readonly [number, number],
): CropBoxSample {
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const ratio = Math.exp(rng.uniform(Math.log(aspect[0]), Math.log(aspect[1])));
    const w = Math.sqrt(target * ratio);
    const h = Math.sqrt(target / ratio);
    if (w <= width && h <= height) return { x: rng.uniform(0, width - w), y: rng.uniform(0, height - h), w, h };
  }
  const ratio = Math.min(Math.max(width / height, aspect[0]), aspect[1]);
  const w = Math.min(width, height * ratio);
  const h = Math.min(height, w / ratio);
  return { x: (width - w) / 2, y: (height - h) / 2, w, h };
}

/**
 * Crops each image b to boxes[b] and resizes it to size x size (bilinear). Output pixel centres
 * sample the box at exactly the positions a resize of the box would, so a full-image box with
 * size = the image side returns the image unchanged.
 */
export function cropAndResizeBoxes(images: Tensor4D, boxes: readonly CropBoxSample[], size: number): Tensor4D {
  const [batch, height, width] = images.shape;
  if (boxes.length !== batch) throw new Error(`cropAndResizeBoxes: ${boxes.length} boxes for a batch of ${batch}`);
  // tf's normalised box corners are pixel indices / (side - 1) of the first and last samples.
  const rows = boxes.map((b) => {
    const y1 = b.y + (0.5 * b.h) / size - 0.5;
    const x1 = b.x + (0.5 * b.w) / size - 0.5;
    const y2 = b.y + ((size - 0.5) * b.h) / size - 0.5;
    const x2 = b.x + ((size - 0.5) * b.w) / size - 0.5;
    return [
      y1 / Math.max(1, height - 1),
      x1 / Math.max(1, width - 1),
      y2 / Math.max(1, height - 1),
      x2 / Math.max(1, width - 1),
    ];
  });
  return tf.tidy(() =>
    tf.image.cropAndResize(
      images,
      tf.tensor2d(rows, [batch, 4], 'float32'),
      tf.range(0, batch, 1, 'int32') as Tensor1D,
      [size, size],
      'bilinear',
    ),
  );
}

/** One random resized crop per image of the batch. */
export function randomResizedCrop(
  images: Tensor4D,
  rng: Rng,
  size: number,
  minScale: number,
  aspect: readonly [number, number],
): Tensor4D {
  const [, height, width] = images.shape;
  const boxes = Array.from({ length: images.shape[0] }, () => sampleCropBox(rng, width, height, [minScale, 1], aspect));
  return cropAndResizeBoxes(images, boxes, size);
}
