// InfoNCE with a queue of negatives (paper 000 Eq. 5; MoCo Eq. 1): for each query q with its
// positive key k+ and the queued keys k_1..k_K,
//   L = -log( exp(q.k+ / tau) / (exp(q.k+ / tau) + sum_i exp(q.k_i / tau)) ),
// i.e. cross-entropy of the logits [q.k+, q.k_1, ..., q.k_K] / tau with the positive at index 0.
// Embeddings are L2-normalised beforehand, so dot products are cosine similarities.
import { tf } from '../engine.js';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs';

/** Logits [B, 1 + K]: column 0 the positive pair, then one column per queued negative. */
export function infoNceLogits(queries: Tensor2D, keys: Tensor2D, negatives: Tensor2D, temperature: number): Tensor2D {
  return tf.tidy(() => {
    const positive = tf.sum(tf.mul(queries, keys), 1, true);
    const negative = tf.matMul(queries, negatives, false, true);
    return tf.div(tf.concat([positive, negative], 1), temperature) as Tensor2D;
  });
}

/** Mean cross-entropy of logits [B, 1 + K] whose correct class is column 0 (log-sum-exp form). */
export function infoNceFromLogits(logits: Tensor2D): Scalar {
  return tf.tidy(() => {
    const positive = tf.squeeze(tf.slice(logits, [0, 0], [-1, 1]), [1]);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), positive)) as Scalar;
  });
}

/** The InfoNCE loss of a batch of queries against their keys and the queue. */
export function infoNceLoss(queries: Tensor2D, keys: Tensor2D, negatives: Tensor2D, temperature: number): Scalar {
  return tf.tidy(() => infoNceFromLogits(infoNceLogits(queries, keys, negatives, temperature)));
}

/**
 * The loss of a model that cannot tell the positive from K negatives (all logits equal):
 * ln(K + 1). Progress is judged against it.
 */
export function chanceLevelLoss(negatives: number): number {
  return Math.log(negatives + 1);
}
