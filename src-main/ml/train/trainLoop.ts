// The one training loop both few-shot heads use: Adam with coupled L2 weight decay and a cosine
// learning-rate schedule (paper 000, appendix "Training details of linear regression"), progress
// reports (step, loss, images/s, ETA) and cancellation through an AbortSignal. It owns every
// tensor it creates: a batch is disposed after its step, so tf.memory() stays flat.
import type { Scalar, Variable } from '@tensorflow/tfjs';
import { tf } from '../engine.js';
import type { OptimizerConfig, TrainControl, TrainProgress } from './config.js';
import { ADAM_DEFAULTS, HostAdam } from './hostAdam.js';

/** Cosine decay from `base` to 0 over `steps` (SGDR without restarts), as in paper 000. */
export function cosineLearningRate(base: number, step: number, steps: number): number {
  return 0.5 * base * (1 + Math.cos((Math.PI * step) / Math.max(1, steps)));
}

export interface TrainLoopSpec<Batch> {
  optimizer: OptimizerConfig;
  /** Variables the optimizer updates. */
  trainable: Variable[];
  /** Variables under weight decay (weights, not biases or norm parameters). */
  decayed: Variable[];
  /** Builds the batch for one step; the loop disposes its tensors after the step. */
  makeBatch(step: number): Batch | Promise<Batch>;
  /** Number of images in a batch (for images/s). */
  batchImages(batch: Batch): number;
  /** Scalar loss of a batch (without the weight decay); called inside the gradient tape. */
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
  const { steps, learningRate, weightDecay, budgetSeconds } = spec.optimizer;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`training needs at least one step; got steps = ${steps}`);
  if (budgetSeconds !== undefined && !(budgetSeconds > 0))
    throw new Error(`a training budget must be a positive number of seconds; got ${budgetSeconds}`);
  if (spec.trainable.length === 0) throw new Error('training has no trainable variables');
  const optimizer = new HostAdam(spec.trainable, spec.decayed, { ...ADAM_DEFAULTS, weightDecay });
  const losses: number[] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  // Fraction of the run done: by steps, or by the clock when that is further along. The schedule
  // follows it, so a time-budgeted run ends its cosine exactly when its budget ends.
  const doneFraction = (step: number) => Math.max(step / steps, budgetSeconds ? elapsed() / budgetSeconds : 0);
  let images = 0;
  // One step at least; the run ends after the step that spends its steps or its budget.
  for (let step = 0; ; step++) {
    if (control.signal?.aborted) throw new TrainingCancelledError(step);
    const batch = await spec.makeBatch(step);
    const rate = cosineLearningRate(learningRate, doneFraction(step), 1);
    try {
      const { value, grads } = tf.variableGrads(() => spec.loss(batch), spec.trainable);
      const lossValue = value.dataSync()[0]!;
      try {
        if (!Number.isFinite(lossValue)) {
          throw new Error(`training diverged at step ${step} (loss ${lossValue}); lower the learning rate`);
        }
        optimizer.apply(
          spec.trainable.map((v) => grads[v.name] ?? null),
          rate,
        );
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
      losses.push(lossValue);
      images += spec.batchImages(batch);
    } finally {
      spec.disposeBatch(batch);
    }
    const seconds = elapsed();
    const last = step + 1 === steps || doneFraction(step + 1) >= 1;
    // The steps this run will take: known at its end and without a budget, else at its pace so far.
    const totalSteps = last
      ? step + 1
      : budgetSeconds
        ? Math.min(steps, Math.max(step + 2, Math.round(((step + 1) * budgetSeconds) / seconds)))
        : steps;
    const progress: TrainProgress = {
      step: step + 1,
      totalSteps,
      loss: losses[losses.length - 1]!,
      learningRate: rate,
      imagesPerSecond: images / Math.max(seconds, 1e-9),
      etaSeconds: (seconds / (step + 1)) * (totalSteps - step - 1),
    };
    const every = control.progressEvery ?? 1;
    if ((step + 1) % every === 0 || last) control.onProgress?.(progress);
    if (last) break;
    // Let the event loop deliver an abort (or a progress message) between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const seconds = elapsed();
  return { losses, seconds, imagesPerSecond: images / Math.max(seconds, 1e-9) };
}
