// The one training loop both few-shot heads use: Adam with coupled L2 weight decay and a cosine
// learning-rate schedule (paper 000, appendix "Training details of linear regression"), progress
// reports (step, loss, images/s, ETA) and cancellation through an AbortSignal. It owns every
// tensor it creates: a batch is disposed after its step, so tf.memory() stays flat.
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../engine.js';
import type { OptimizerConfig, TrainControl, TrainProgress } from './config.js';
import { GraphStep } from './graphStep.js';
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
  /**
   * With both of these, on the native backend, steps after the first replay the first one's
   * TensorFlow ops as one graph (graphStep.ts) instead of running them one by one: every variable
   * the loss reads (weights and batch-norm statistics; a statistic the loss moves is moved by the
   * graph too), and the batch's tensors in a fixed order.
   */
  reads?: Variable[];
  batchTensors?(batch: Batch): Tensor[];
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
  const gradients = new GradientStep(spec);
  const losses: number[] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  // Fraction of the run done: by steps, or by the clock when that is further along. The schedule
  // follows it, so a time-budgeted run ends its cosine exactly when its budget ends.
  const doneFraction = (step: number) => Math.max(step / steps, budgetSeconds ? elapsed() / budgetSeconds : 0);
  let images = 0;
  // One step at least; the run ends after the step that spends its steps or its budget.
  try {
    for (let step = 0; ; step++) {
      if (control.signal?.aborted) throw new TrainingCancelledError(step);
      const batch = await spec.makeBatch(step);
      const rate = cosineLearningRate(learningRate, doneFraction(step), 1);
      try {
        const { value, grads } = gradients.run(batch);
        const lossValue = value.dataSync()[0]!;
        try {
          if (!Number.isFinite(lossValue)) {
            throw new Error(`training diverged at step ${step} (loss ${lossValue}); lower the learning rate`);
          }
          optimizer.apply(grads, rate);
        } finally {
          tf.dispose([value, ...grads.filter((g): g is Tensor => g !== null)]);
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
  } finally {
    gradients.dispose();
  }
  const seconds = elapsed();
  return { losses, seconds, imagesPerSecond: images / Math.max(seconds, 1e-9) };
}

/**
 * A step's loss and the gradient of each trainable variable (null where the loss does not depend
 * on it): through tfjs's tape, or, when the spec allows it, by replaying the first step of each
 * batch shape as a graph. The caller owns the returned tensors.
 */
class GradientStep<Batch> {
  /** Graphs by the batch's shapes (a last, smaller batch gets its own). */
  private readonly graphs = new Map<string, { graph: GraphStep | null; gradients: boolean[]; moved: Variable[] }>();

  constructor(private readonly spec: TrainLoopSpec<Batch>) {}

  run(batch: Batch): { value: Scalar; grads: (Tensor | null)[] } {
    const { spec } = this;
    if (!spec.reads || !spec.batchTensors || !GraphStep.available()) return this.eager(batch);
    const inputs = spec.batchTensors(batch);
    const key = inputs.map((t) => t.shape.join('x')).join(',');
    const feeds = [...inputs, ...spec.reads];
    const known = this.graphs.get(key);
    if (known && !known.graph) return this.eager(batch);
    if (known?.graph) {
      const [value, ...rest] = known.graph.run(feeds);
      const grads = known.gradients.map((has) => (has ? rest.shift()! : null));
      known.moved.forEach((v, i) => {
        v.assign(rest[i]!);
        rest[i]!.dispose();
      });
      return { value: value as Scalar, grads };
    }
    const before = spec.reads.map((v) => v.dataId);
    let result: { value: Scalar; grads: (Tensor | null)[] } | null = null;
    let moved: Variable[] = [];
    const { step: graph, failure } = GraphStep.trace(feeds, () => {
      const step = this.eager(batch);
      result = step;
      // Statistics the step moved (batch norm's moving averages): the graph computes them too.
      moved = spec.reads!.filter((v, i) => v.dataId !== before[i]);
      return [step.value, ...step.grads.filter((g): g is Tensor => g !== null), ...moved];
    });
    // Training goes on eagerly, as fast as before this existed.
    if (failure) console.warn(`training runs op by op: its step could not be made a graph (${failure})`);
    this.graphs.set(key, { graph, gradients: result!.grads.map((g) => g !== null), moved });
    return result!;
  }

  private eager(batch: Batch): { value: Scalar; grads: (Tensor | null)[] } {
    const { value, grads } = tf.variableGrads(() => this.spec.loss(batch), this.spec.trainable);
    return { value, grads: this.spec.trainable.map((v) => grads[v.name] ?? null) };
  }

  dispose(): void {
    for (const { graph } of this.graphs.values()) graph?.dispose();
    this.graphs.clear();
  }
}
