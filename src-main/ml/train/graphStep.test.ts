import type { Scalar, Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, conv2d, ParameterSet, type BatchNormParams, type ConvParams } from '../backbones/layers.js';
import { relu, softmaxCrossEntropy } from '../backbones/nativeOps.js';
import { initEngine, tf } from '../engine.js';
import { relativeError } from '../numericTestKit.js';
import { GraphStep } from './graphStep.js';

beforeAll(async () => {
  await initEngine();
});

/** A conv + training batch norm + ReLU + 1x1 conv net with a spatial cross-entropy loss. */
function smallNet(seed: number) {
  const params = new ParameterSet(seed, true);
  const conv: ConvParams = params.conv('conv', 's', { in: 3, out: 8, kernel: 3, pad: 1 });
  const norm: BatchNormParams = params.batchNorm('bn', 's', 8);
  const out: ConvParams = params.conv('out', 's', { in: 8, out: 2, kernel: 1, bias: true });
  const trainable = [...params.params.values()].filter((p) => p.trainable).map((p) => p.variable);
  const reads = [...params.params.values()].map((p) => p.variable);
  const loss = (x: Tensor4D, targets: Tensor2D): Scalar =>
    tf.tidy(() => {
      const logits = conv2d(relu(batchNorm(conv2d(x, conv), norm, true)), out); // [B, 6, 6, 2]
      const rows = tf.reshape(tf.transpose(logits, [0, 3, 1, 2]), [-1, 36]) as Tensor2D;
      return tf.mean(softmaxCrossEntropy(rows, targets)) as Scalar;
    });
  /** Loss, gradients and the moving statistics the step moved, eagerly. */
  const step = (x: Tensor4D, targets: Tensor2D): Tensor[] => {
    const { value, grads } = tf.variableGrads(() => loss(x, targets), trainable);
    return [value, ...trainable.map((v) => grads[v.name]!), norm.movingMean, norm.movingVariance];
  };
  return { params, trainable, reads, norm, step };
}

function batch(seed: number): { x: Tensor4D; targets: Tensor2D } {
  const t = new Float32Array(4 * 36);
  for (let i = 0; i < 4; i++) t[i * 36 + ((i * 7 + seed) % 36)] = 1;
  return {
    x: tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', seed) as Tensor4D,
    targets: tf.tensor2d(t, [4, 36]),
  };
}

function maxRelativeDifference(a: Tensor, b: Tensor): number {
  return relativeError(a.dataSync(), b.dataSync());
}

describe('GraphStep', () => {
  const net = smallNet(5);
  afterAll(() => net.params.dispose());

  it('replays a training step as a graph: the same loss, gradients and moving statistics as eagerly', () => {
    const first = batch(1);
    const traced = GraphStep.trace([first.x, first.targets, ...net.reads], () => net.step(first.x, first.targets));
    expect(traced.failure).toBeUndefined();
    const graph = traced.step!;
    tf.dispose(traced.outputs.slice(0, 1 + net.trainable.length));

    // On a new batch and new weights, from the same statistics, the graph and the eager step agree.
    const second = batch(2);
    net.trainable.forEach((v) => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', 9))));
    const statistics = [net.norm.movingMean.clone(), net.norm.movingVariance.clone()];
    const fromGraph = graph.run([second.x, second.targets, ...net.reads]);
    const eager = net.step(second.x, second.targets);
    expect(fromGraph).toHaveLength(eager.length);
    // the eager step moved the statistics on from the values the graph was fed
    const movedOnce = eager.slice(-2).map((t) => t.clone());
    net.norm.movingMean.assign(statistics[0]!);
    net.norm.movingVariance.assign(statistics[1]!);
    const again = net.step(second.x, second.targets);
    fromGraph.forEach((t, i) => expect(maxRelativeDifference(t, again[i]!)).toBeLessThan(1e-5));
    // and the moving statistics moved (the graph did not just hand back what it was fed)
    expect(maxRelativeDifference(fromGraph.at(-1)!, statistics[1]!)).toBeGreaterThan(1e-3);
    expect(maxRelativeDifference(movedOnce[1]!, again.at(-1)!)).toBeLessThan(1e-5);
    tf.dispose([...fromGraph, ...eager.slice(0, -2), ...again.slice(0, -2), ...statistics, ...movedOnce]);
    tf.dispose([first.x, first.targets, second.x, second.targets]);
    graph.dispose();
  });

  it('runs leak-free and checks the number of feeds', () => {
    const b = batch(3);
    const traced = GraphStep.trace([b.x, b.targets, ...net.reads], () => net.step(b.x, b.targets));
    tf.dispose(traced.outputs.slice(0, 1 + net.trainable.length));
    const graph = traced.step!;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(graph.run([b.x, b.targets, ...net.reads]));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => graph.run([b.x])).toThrow(/1 feeds for \d+ inputs/);
    tf.dispose([b.x, b.targets]);
    graph.dispose();
  });

  it('hands back a fed tensor that the step returns unchanged', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const w = tf.variable(tf.tensor1d([4, 5, 6]));
    const traced = GraphStep.trace([x, w], () => [tf.mul(x, w), w]);
    const graph = traced.step!;
    const [product, same] = graph.run([tf.tensor1d([2, 2, 2]), w]);
    expect(Array.from(product!.dataSync())).toEqual([8, 10, 12]);
    expect(Array.from(same!.dataSync())).toEqual([4, 5, 6]);
    tf.dispose([x, w, product!, same!, traced.outputs[0]!]);
    graph.dispose();
  });

  it('refuses, with the eager results kept, a step that reads an unfed tensor or reads values back', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const hidden: Variable = tf.variable(tf.tensor1d([4, 5, 6]));
    const unfed = GraphStep.trace([x], () => [tf.mul(x, hidden)]);
    expect(unfed.step).toBeNull();
    expect(unfed.failure).toMatch(/neither fed nor made in it/);
    expect(Array.from(unfed.outputs[0]!.dataSync())).toEqual([4, 10, 18]);

    const readBack = GraphStep.trace([x], () => [tf.mul(x, tf.sum(x).dataSync()[0]!)]);
    expect(readBack.step).toBeNull();
    expect(readBack.failure).toMatch(/reads tensor values back/);
    expect(Array.from(readBack.outputs[0]!.dataSync())).toEqual([6, 12, 18]);
    tf.dispose([x, hidden, ...unfed.outputs, ...readBack.outputs]);
  });
});
