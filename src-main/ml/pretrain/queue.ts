// MoCo's dictionary: a fixed-size FIFO queue of past keys used as negatives (MoCo Sec. 3.2).
// Stored as one float32 variable [size, dim] on the compute device plus a write pointer; each
// step overwrites the oldest rows with the newest keys, wrapping around at the end.
import { tf } from '../engine.js';
import type { Rank, Tensor2D, Variable } from '@tensorflow/tfjs';

/** Plain copy of a queue, for checkpoints. */
export interface QueueSnapshot {
  size: number;
  dim: number;
  /** Row the next enqueued key is written to. */
  pointer: number;
  /** Row-major [size, dim]. */
  data: Float32Array;
}

export class NegativeQueue {
  readonly size: number;
  readonly dim: number;
  /** Row the next enqueued key goes to; rows pointer..size-1 then 0..pointer-1 are oldest to newest. */
  pointer: number;
  readonly keys: Variable<Rank.R2>;

  private constructor(keys: Tensor2D, pointer: number) {
    const [size, dim] = keys.shape;
    this.size = size;
    this.dim = dim;
    this.pointer = pointer;
    this.keys = tf.variable(keys, false, undefined, 'float32');
  }

  /** A queue of random unit vectors (MoCo initialises with normalised Gaussian noise). */
  static random(size: number, dim: number, seed: number): NegativeQueue {
    if (!Number.isInteger(size) || size < 1) throw new Error(`queue size must be a positive integer; got ${size}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`queue key width must be a positive integer; got ${dim}`);
    const initial = tf.tidy(() => {
      const noise = tf.randomNormal([size, dim], 0, 1, 'float32', seed);
      return tf.div(noise, tf.norm(noise, 2, 1, true)) as Tensor2D;
    });
    try {
      return new NegativeQueue(initial, 0);
    } finally {
      initial.dispose();
    }
  }

  static fromSnapshot(snapshot: QueueSnapshot): NegativeQueue {
    const { size, dim, pointer, data } = snapshot;
    if (!(data instanceof Float32Array)) throw new Error('queue snapshot data must be float32');
    if (data.length !== size * dim)
      throw new Error(`queue snapshot holds ${data.length} values; ${size} x ${dim} = ${size * dim} expected`);
    if (!Number.isInteger(pointer) || pointer < 0 || pointer >= size)
      throw new Error(`queue snapshot pointer ${pointer} is outside 0..${size - 1}`);
    const keys = tf.tensor2d(data, [size, dim], 'float32');
    try {
      return new NegativeQueue(keys, pointer);
    } finally {
      keys.dispose();
    }
  }

  /** Writes a batch of keys [B, dim] over the B oldest rows and advances the pointer. */
  enqueue(batch: Tensor2D): void {
    const [count, dim] = batch.shape;
    if (batch.dtype !== 'float32') throw new Error(`queue keys must be float32; got ${batch.dtype}`);
    if (dim !== this.dim) throw new Error(`queue holds keys of width ${this.dim}; got width ${dim}`);
    if (count > this.size) throw new Error(`cannot enqueue ${count} keys into a queue of ${this.size}`);
    const start = this.pointer;
    const end = start + count;
    tf.tidy(() => {
      let next: Tensor2D;
      if (end <= this.size) {
        next = tf.concat([tf.slice(this.keys, [0, 0], [start, -1]), batch, tf.slice(this.keys, [end, 0], [-1, -1])]);
      } else {
        // Wrap-around: the batch's head fills start..size-1, its tail 0..wrapped-1.
        const head = this.size - start;
        const wrapped = count - head;
        next = tf.concat([
          tf.slice(batch, [head, 0], [wrapped, -1]),
          tf.slice(this.keys, [wrapped, 0], [start - wrapped, -1]),
          tf.slice(batch, [0, 0], [head, -1]),
        ]);
      }
      this.keys.assign(next);
    });
    this.pointer = end % this.size;
  }

  async snapshot(): Promise<QueueSnapshot> {
    const data = (await this.keys.data()) as Float32Array;
    return { size: this.size, dim: this.dim, pointer: this.pointer, data: Float32Array.from(data) };
  }

  dispose(): void {
    this.keys.dispose();
  }
}
