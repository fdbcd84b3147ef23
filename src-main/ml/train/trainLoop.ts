// The one training loop both few-shot heads use: Adam with coupled L2 weight decay and a cosine
// learning-rate schedule (paper 000, appendix "Training details of linear regression"), progress
// reports (step, loss, images/s, ETA) and cancellation through an AbortSignal. It owns every
// tensor it creates: a batch is disposed after its step, so tf.memory() stays flat.
import type { Scalar, Variable } from '@tensorflow/tfjs';
import { tf } from '../engine.js';
import type { OptimizerConfig, TrainControl, TrainProgress } from './config.js';

/** Adam whose learning rate can follow a schedule (tf's keeps it in a protected field). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

/** Cosine decay from `base` to 0 over `steps` (SGDR without restarts), as in paper 000. */
export function cosineLearningRate(base: number, step: number, steps: number): number {
  return 0.5 * base * (1 + Math.cos((Math.PI * step) / Math.max(1, steps)));
}

export interface TrainLoopSpec<Batch> {
  optimizer: OptimizerConfig;
  /** Variables the optimizer updates. */
  trainable: Variable[];
  /** Variables whose squared norm is penalised (weights, not biases or norm parameters). */
  decayed: Variable[];
  /** Builds the batch for one step; the loop disposes its tensors after the step. */
  makeBatch(step: number): Batch | Promise<Batch>;
  /** Number of images in a batch (for images/s). */
  batchImages(batch: Batch): number;
  /** Scalar loss of a batch; called inside the optimizer's gradient tape. */
  loss(batch: Batch): Scalar;
  disposeBatch(batch: Batch): void;
}

export interface TrainLoopResult {
  /** Loss of every step, in order. */
  losses: number[];
  seconds: number;
  imagesPerSecond: number;
}

/** The error thrown when a run is cancelled through its AbortSignal. */
export class TrainingCancelledError extends Error {
  constructor(step: number) {
    super(`training cancelled at step ${step}`);
    this.name = 'AbortError';
  }
}

export async function runTrainLoop<Batch>(
  spec: TrainLoopSpec<Batch>,
  control: TrainControl = {},
): Promise<TrainLoopResult> {
  const { steps, learningRate, weightDecay } = spec.optimizer;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`training needs at least one step; got steps = ${steps}`);
  if (spec.trainable.length === 0) throw new Error('training has no trainable variables');
  const optimizer = new ScheduledAdam(learningRate, 0.9, 0.999, 1e-8);
  const losses: number[] = [];
  const started = performance.now();
  let images = 0;
  try {
    for (let step = 0; step < steps; step++) {
      if (control.signal?.aborted) throw new TrainingCancelledError(step);
      const batch = await spec.makeBatch(step);
      try {
        optimizer.setLearningRate(cosineLearningRate(learningRate, step, steps));
        const lossValue = tf.tidy(() => {
          const loss = optimizer.minimize(
            () => {
              const data = spec.loss(batch);
              // PyTorch's Adam(weight_decay=wd) adds wd * w to the gradient: the gradient of
              // wd/2 * ||w||^2, which is what we add to the loss.
              if (weightDecay === 0 || spec.decayed.length === 0) return data;
              const norms = spec.decayed.map((v) => tf.sum(tf.square(v)));
              return tf.add(data, tf.mul(0.5 * weightDecay, tf.addN(norms))) as Scalar;
            },
            true,
            spec.trainable,
          );
          return loss!.dataSync()[0]!;
        });
        if (!Number.isFinite(lossValue)) {
          throw new Error(`training diverged at step ${step} (loss ${lossValue}); lower the learning rate`);
        }
        losses.push(lossValue);
        images += spec.batchImages(batch);
      } finally {
        spec.disposeBatch(batch);
      }
      const seconds = (performance.now() - started) / 1000;
      const progress: TrainProgress = {
        step: step + 1,
        totalSteps: steps,
        loss: losses[losses.length - 1]!,
        learningRate: cosineLearningRate(learningRate, step, steps),
        imagesPerSecond: images / Math.max(seconds, 1e-9),
        etaSeconds: (seconds / (step + 1)) * (steps - step - 1),
      };
      const every = control.progressEvery ?? 1;
      if ((step + 1) % every === 0 || step + 1 === steps) control.onProgress?.(progress);
      // Let the event loop deliver an abort (or a progress message) between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    optimizer.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return { losses, seconds, imagesPerSecond: images / Math.max(seconds, 1e-9) };
}
