// Matching maps during prediction (issue 18 point 4, at prediction speed): the network inputs a
// head has just predicted on are described on the device, each image picks its most similar
// reference by pooled descriptor, and the similarity maps of all that reference's labeled points
// come from one batched matrix product. Only the maps come back to the host (peaks are found
// there), so an image costs no second decode of its file, and no second forward pass where the
// features are the predicting model's own (the head's taps are described).
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { Point } from '../../../src-shared/geometry.js';
import { tf } from '../engine.js';
import type { Taps } from '../backbones/index.js';
import {
  descriptorAt,
  descriptorsFromTaps,
  descriptorTensor,
  pooledDescriptor,
  toDescriptorInput,
  type DescriptorMap,
  type DescriptorNetwork,
} from './descriptors.js';

/** A labeled image: its descriptor map and its points in grid coordinates (null = not labeled). */
export interface MatcherReference {
  map: DescriptorMap;
  points: readonly (Point | null)[];
}

/** One image's matching maps: the chosen reference and, per keypoint it labels, a [height * width] cosine map. */
export interface ImageSimilarities {
  reference: number;
  width: number;
  height: number;
  maps: (Float32Array | null)[];
}

export class ReferenceMatcher {
  /** [R, C] unit pooled descriptors of the references. */
  private readonly pooled: Tensor2D;
  /** [R, C, K] each reference's descriptor at each of its labeled points (zeros where unlabeled). */
  private readonly queries: Tensor3D;
  private readonly labeled: boolean[][];

  constructor(
    private readonly net: DescriptorNetwork,
    references: readonly MatcherReference[],
  ) {
    if (references.length === 0) throw new Error('matching maps need at least one labeled reference image');
    const { dim } = references[0]!.map;
    const k = references[0]!.points.length;
    const pooled = new Float32Array(references.length * dim);
    const queries = new Float32Array(references.length * dim * k);
    this.labeled = references.map((ref, r) => {
      if (ref.map.dim !== dim || ref.points.length !== k)
        throw new Error(
          `reference ${r} has ${ref.map.dim}-D descriptors and ${ref.points.length} points, not ${dim} and ${k}`,
        );
      pooled.set(pooledDescriptor(ref.map), r * dim);
      return ref.points.map((p, j) => {
        if (!p) return false;
        const q = descriptorAt(ref.map, p);
        for (let d = 0; d < dim; d++) queries[(r * dim + d) * k + j] = q[d]!;
        return true;
      });
    });
    this.pooled = tf.tensor2d(pooled, [references.length, dim]);
    this.queries = tf.tensor3d(queries, [references.length, dim, k]);
  }

  /**
   * Network inputs [B, S, S, 3] in [0, 1] (not disposed) -> per image, its reference and maps.
   * `taps`: this network's backbone outputs on exactly these inputs at its input size (a head's
   * pass), described instead of running the backbone again.
   */
  similarities(images: Tensor4D, taps: Taps | null = null): ImageSimilarities[] {
    const [best, maps] = tf.tidy(() => {
      const d = taps
        ? descriptorsFromTaps(this.net, taps)
        : descriptorTensor(this.net, toDescriptorInput(this.net, images));
      const [b, gh, gw, dim] = d.shape;
      const flat = tf.reshape(d, [b, gh * gw, dim]) as Tensor3D;
      const pooled = tf.mean(flat, 1) as Tensor2D;
      const unit = tf.div(pooled, tf.maximum(tf.norm(pooled, 2, 1, true), 1e-12)) as Tensor2D;
      const chosen = tf.argMax(tf.matMul(unit, this.pooled, false, true), 1);
      // [B, HW, C] x [B, C, K] -> [B, K, HW]: every keypoint's map in one product.
      const sims = tf.transpose(tf.matMul(flat, tf.gather(this.queries, chosen)), [0, 2, 1]);
      return [chosen, tf.reshape(sims, [b, -1, gh, gw])];
    });
    try {
      const [b, k, height, width] = maps.shape as [number, number, number, number];
      const cells = height * width;
      const references = best.dataSync() as Int32Array;
      const values = maps.dataSync() as Float32Array;
      return Array.from({ length: b }, (_, i) => {
        const reference = references[i]!;
        return {
          reference,
          width,
          height,
          maps: Array.from({ length: k }, (_, j) =>
            this.labeled[reference]![j] ? values.slice((i * k + j) * cells, (i * k + j + 1) * cells) : null,
          ),
        };
      });
    } finally {
      best.dispose();
      maps.dispose();
    }
  }

  dispose(): void {
    this.pooled.dispose();
    this.queries.dispose();
  }
}
