// SGD with momentum and coupled weight decay, exactly as PyTorch's torch.optim.SGD (which MoCo
// trains with): g <- g + wd * w;  buf <- mu * buf + g;  w <- w - lr * buf.
// Written out rather than tf.train.momentum so that the learning rate can follow a schedule and
// the momentum buffers are named, plain state that a checkpoint saves and a resume restores.
import { tf } from '../engine.js';
import type { Tensor, Variable } from '@tensorflow/tfjs';

export interface SgdMomentumSettings {
  momentum: number;
  weightDecay: number;
}

export class SgdMomentum {
  /** One buffer per parameter, by the parameter's name; zeros before the first step. */
  readonly buffers: ReadonlyMap<string, Variable>;

  constructor(
    private readonly params: ReadonlyMap<string, Variable>,
    private readonly settings: SgdMomentumSettings,
  ) {
    // tidy frees the zeros; variables outlive a tidy.
    this.buffers = new Map([...params].map(([name, v]) => [name, tf.tidy(() => tf.variable(tf.zerosLike(v), false))]));
  }

  /** Applies one update with `grads` keyed by parameter name (every parameter needs one). */
  step(grads: ReadonlyMap<string, Tensor>, learningRate: number): void {
    const { momentum, weightDecay } = this.settings;
    tf.tidy(() => {
      for (const [name, param] of this.params) {
        const grad = grads.get(name);
        if (!grad) throw new Error(`SGD step: no gradient for parameter ${name}`);
        const buffer = this.buffers.get(name)!;
        const decayed = weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, weightDecay));
        buffer.assign(tf.add(tf.mul(buffer, momentum), decayed));
        param.assign(tf.sub(param, tf.mul(buffer, learningRate)));
      }
    });
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
  }
}
