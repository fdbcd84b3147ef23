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
  private references: {
    /** [R, C] unit pooled descriptors of the references. */
    pooled: Tensor2D;
    /** [R, C, K] each reference's descriptor at each of its labeled points (zeros where unlabeled). */
    queries: Tensor3D;
    labeled: boolean[][];
  } | null = null;

  /** Without `references`, give them with setReferences before the first match. */
  constructor(
    private readonly net: DescriptorNetwork,
    references?: readonly MatcherReference[],
  ) {
    if (references) this.setReferences(references);
  }

  get hasReferences(): boolean {
    return this.references !== null;
  }

  /** The labeled images every target is matched from (once). */
  setReferences(references: readonly MatcherReference[]): void {
    if (this.references) throw new Error('the matcher has its references already');
    if (references.length === 0) throw new Error('matching maps need at least one labeled reference image');
    const { dim } = references[0]!.map;
    const k = references[0]!.points.length;
    const pooled = new Float32Array(references.length * dim);
    const queries = new Float32Array(references.length * dim * k);
    const labeled = references.map((ref, r) => {
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
    // Kept: a prediction sets them inside the head's tidy (from its first batch's taps).
    this.references = {
      pooled: tf.keep(tf.tensor2d(pooled, [references.length, dim])),
      queries: tf.keep(tf.tensor3d(queries, [references.length, dim, k])),
      labeled,
    };
  }

  /**
   * Descriptor maps [B, gh, gw, C] of network inputs [B, S, S, 3] in [0, 1] (neither disposed).
   * `taps`: this network's backbone outputs on exactly these inputs at its input size (a head's
   * pass), described instead of running the backbone again.
   */
  describe(images: Tensor4D, taps: Taps | null = null): Tensor4D {
    return taps ? descriptorsFromTaps(this.net, taps) : descriptorTensor(this.net, toDescriptorInput(this.net, images));
  }

  /** Descriptor maps of a batch (from describe; not disposed) -> per image, its reference and maps. */
  match(described: Tensor4D): ImageSimilarities[] {
    if (!this.references) throw new Error('the matcher has no references yet');
    const { pooled: referencesPooled, queries, labeled } = this.references;
    const [best, maps] = tf.tidy(() => {
      const [b, gh, gw, dim] = described.shape;
      const flat = tf.reshape(described, [b, gh * gw, dim]) as Tensor3D;
      const pooled = tf.mean(flat, 1) as Tensor2D;
      const unit = tf.div(pooled, tf.maximum(tf.norm(pooled, 2, 1, true), 1e-12)) as Tensor2D;
      const chosen = tf.argMax(tf.matMul(unit, referencesPooled, false, true), 1);
      // [B, HW, C] x [B, C, K] -> [B, K, HW]: every keypoint's map in one product.
      const sims = tf.transpose(tf.matMul(flat, tf.gather(queries, chosen)), [0, 2, 1]);
      return [chosen, tf.reshape(sims, [b, -1, gh, gw])];
    });
    try {
      const [b, k, height, width] = maps.shape as [number, number, number, number];
      const cells = height * width;
      const chosen = best.dataSync() as Int32Array;
      const values = maps.dataSync() as Float32Array;
      return Array.from({ length: b }, (_, i) => {
        const reference = chosen[i]!;
        return {
          reference,
          width,
          height,
          maps: Array.from({ length: k }, (_, j) =>
            labeled[reference]![j] ? values.slice((i * k + j) * cells, (i * k + j + 1) * cells) : null,
          ),
        };
      });
    } finally {
      best.dispose();
      maps.dispose();
    }
  }

  dispose(): void {
    if (!this.references) return;
    this.references.pooled.dispose();
    this.references.queries.dispose();
  }
}
