// Adam (Kingma & Ba 2015, Algorithm 1) with coupled L2 weight decay as PyTorch's
// Adam(weight_decay=wd) applies it (g += wd * w), the optimiser of paper 000's regressor, with its
// moments in host memory and each weight tensor updated in one SIMD pass (adamKernel.wat).
// Why not tf.AdamOptimizer: it issues ~14 small TensorFlow kernels per weight tensor (and the L2
// term in the loss ~6 more), each costing tens of microseconds of single-threaded dispatch in
// tfjs-node while TensorFlow's other threads wait: ~45 ms of a ~450 ms heatmap-head step
// (bench/README.md "Few-shot regressors"). Here a tensor costs one read of its gradient and one
// write of the new value a step (its value is read at its first update only).
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../engine.js';
import { AdamKernel } from './adamKernel.js';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Coupled L2 weight decay on the `decayed` variables. */
  weightDecay: number;
}

/** PyTorch's defaults, as paper 000's code uses them. */
export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

export class HostAdam {
  private readonly kernel: AdamKernel;
  /** Heap indices of each variable's weights and moments in the kernel's memory. */
  private readonly places: { w: number; m: number; v: number }[];
  /** Heap index where each gradient is copied in turn. */
  private readonly gradient: number;
  private readonly decayed: boolean[];
  /**
   * Whether the kernel holds a variable's weights (read once, at its first update), so that a step
   * reads only the gradients back from the device. The variables must change only through this
   * optimizer while it trains them.
   */
  private readonly loaded: boolean[];
  private steps = 0;

  constructor(
    private readonly variables: readonly Variable[],
    decayed: readonly Variable[],
    private readonly config: AdamConfig = ADAM_DEFAULTS,
  ) {
    const decays = new Set(decayed);
    this.decayed = variables.map((v) => decays.has(v));
    let used = 0;
    // Whole groups of four floats: the kernel's SIMD loads want 16-byte alignment.
    const take = (floats: number) => {
      const at = used;
      used += Math.ceil(floats / 4) * 4;
      return at;
    };
    this.places = variables.map((v) => ({ w: take(v.size), m: take(v.size), v: take(v.size) }));
    this.gradient = take(Math.max(0, ...variables.map((v) => v.size)));
    this.kernel = new AdamKernel(used);
    this.loaded = variables.map(() => false);
  }

  /**
   * One update. `grads[i]` is the gradient of variables[i] (null: the loss does not depend on it,
   * so it is left alone, as tf's optimizers do). The caller keeps ownership of the gradients.
   */
  apply(grads: readonly (Tensor | null)[], learningRate: number): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`Adam got ${grads.length} gradients for ${this.variables.length} variables`);
    }
    this.steps++;
    const correction1 = 1 - this.config.beta1 ** this.steps;
    const correction2 = 1 - this.config.beta2 ** this.steps;
    const heap = this.kernel.heap;
    this.variables.forEach((variable, i) => {
      const grad = grads[i];
      if (grad == null) return;
      const place = this.places[i]!;
      const n = variable.size;
      if (!this.loaded[i]) {
        heap.set(variable.dataSync() as Float32Array, place.w);
        this.loaded[i] = true;
      }
      heap.set(grad.dataSync() as Float32Array, this.gradient);
      this.kernel.step(
        { ...place, g: this.gradient, n },
        learningRate / correction1,
        1 / correction2,
        this.decayed[i] ? this.config.weightDecay : 0,
        this.config,
      );
      // A copy, never written after it becomes a tensor: tfjs-node's tensors share the memory of
      // the arrays they are made from.
      const value = tf.tensor(heap.slice(place.w, place.w + n), variable.shape, 'float32');
      variable.assign(value);
      value.dispose();
    });
  }
}
