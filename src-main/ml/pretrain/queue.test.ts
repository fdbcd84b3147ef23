import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import type { Tensor2D } from '@tensorflow/tfjs';
import { NegativeQueue } from './queue.js';

beforeAll(async () => {
  await initEngine();
});

const queues: NegativeQueue[] = [];
afterEach(() => {
  for (const q of queues.splice(0)) q.dispose();
});
function track(q: NegativeQueue): NegativeQueue {
  queues.push(q);
  return q;
}

/** A queue of `size` rows of width 2 whose row i is [-(i + 1), -(i + 1)]: old, recognisable keys. */
function knownQueue(size: number): NegativeQueue {
  const data = new Float32Array(size * 2).map((_, i) => -(Math.floor(i / 2) + 1));
  return track(NegativeQueue.fromSnapshot({ size, dim: 2, pointer: 0, data }));
}

function rows(q: NegativeQueue): number[][] {
  return q.keys.arraySync();
}

describe('NegativeQueue', () => {
  it('stores float32 keys of the requested size, initialised as unit vectors', () => {
    const q = track(NegativeQueue.random(64, 8, 7));
    expect(q.keys.dtype).toBe('float32');
    expect(q.keys.shape).toEqual([64, 8]);
    for (const row of rows(q)) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
  });

  it('is FIFO: each batch overwrites the oldest rows, wrapping around at the end', () => {
    const q = knownQueue(5);
    const batch = (a: number, b: number) =>
      tf.tensor2d([
        [a, a],
        [b, b],
      ]);
    const b1 = batch(10, 11);
    q.enqueue(b1);
    expect(q.pointer).toBe(2);
    expect(rows(q).map((r) => r[0])).toEqual([10, 11, -3, -4, -5]);
    const b2 = batch(12, 13);
    q.enqueue(b2);
    expect(q.pointer).toBe(4);
    expect(rows(q).map((r) => r[0])).toEqual([10, 11, 12, 13, -5]);
    // Wrap-around: 14 replaces the last old row, 15 the oldest of the first batch.
    const b3 = batch(14, 15);
    q.enqueue(b3);
    expect(q.pointer).toBe(1);
    expect(rows(q).map((r) => r[0])).toEqual([15, 11, 12, 13, 14]);
    tf.dispose([b1, b2, b3]);
  });

  it('after a full cycle holds exactly the last `size` keys', () => {
    const q = knownQueue(6);
    for (let i = 0; i < 7; i++) {
      const b = tf.fill([4, 2], 100 + i) as Tensor2D;
      q.enqueue(b);
      b.dispose();
    }
    // 28 keys enqueued: the last 6 are 105, 105, 106, 106, 106, 106; pointer 28 mod 6 = 4.
    expect(q.pointer).toBe(4);
    expect(rows(q).map((r) => r[0])).toEqual([106, 106, 106, 106, 105, 105]);
  });

  it('round-trips through a snapshot, pointer included', async () => {
    const q = track(NegativeQueue.random(10, 3, 1));
    const b = tf.ones([4, 3]) as Tensor2D;
    q.enqueue(b);
    b.dispose();
    const snap = await q.snapshot();
    expect(snap.data).toBeInstanceOf(Float32Array);
    const copy = track(NegativeQueue.fromSnapshot(snap));
    expect(copy.pointer).toBe(4);
    expect(rows(copy)).toEqual(rows(q));
  });

  it('rejects keys of the wrong dtype, width or count, and bad snapshots', () => {
    const q = knownQueue(4);
    const ints = tf.ones([2, 2], 'int32') as Tensor2D;
    const wide = tf.ones([2, 3]) as Tensor2D;
    const many = tf.ones([5, 2]) as Tensor2D;
    expect(() => q.enqueue(ints)).toThrow(/float32/);
    expect(() => q.enqueue(wide)).toThrow(/width 2/);
    expect(() => q.enqueue(many)).toThrow(/cannot enqueue 5 keys into a queue of 4/);
    expect(q.pointer).toBe(0);
    expect(() => NegativeQueue.fromSnapshot({ size: 4, dim: 2, pointer: 4, data: new Float32Array(8) })).toThrow(
      /pointer 4/,
    );
    expect(() => NegativeQueue.fromSnapshot({ size: 4, dim: 2, pointer: 0, data: new Float32Array(7) })).toThrow(
      /7 values/,
    );
    tf.dispose([ints, wide, many]);
  });

  it('keeps the tensor count flat across enqueues', () => {
    const q = knownQueue(8);
    const b = tf.ones([3, 2]) as Tensor2D;
    q.enqueue(b);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) q.enqueue(b);
    expect(tf.memory().numTensors).toBe(before);
    b.dispose();
  });
});
