import type { Tensor, Variable } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, tf } from '../engine.js';
import { ADAM_DEFAULTS, HostAdam } from './hostAdam.js';

beforeAll(async () => {
  await initEngine();
});

/** Ten steps of a quartic loss on two weight tensors, gradients recomputed every step. */
function runSteps(update: (grads: Tensor[], step: number) => void, variables: Variable[]): void {
  const target = tf.tensor1d([0.5, -1, 2, 0.25, 3, -2]);
  for (let step = 0; step < 10; step++) {
    const { grads } = tf.variableGrads(() => {
      const flat = tf.concat(variables.map((v) => tf.reshape(v, [-1])));
      return tf.sum(tf.pow(tf.sub(flat, target), 4));
    }, variables);
    const list = variables.map((v) => grads[v.name]!);
    update(list, step);
    tf.dispose(list);
  }
  target.dispose();
}

function makeVariables(): Variable[] {
  return [tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2])), tf.variable(tf.tensor1d([-1, 0.5]))];
}

describe('HostAdam', () => {
  it("matches tf's Adam with the L2 term's gradient wd * w added, step for step and with a changing rate", () => {
    const weightDecay = 0.1;
    const ours = makeVariables();
    const initial = ours.map((v) => Array.from(v.dataSync()));
    const adam = new HostAdam(ours, [ours[0]!], { ...ADAM_DEFAULTS, weightDecay });
    runSteps((grads, step) => adam.apply(grads, 0.05 / (step + 1)), ours);

    const reference = makeVariables();
    const tfAdam = new (class extends tf.AdamOptimizer {
      setRate(lr: number): void {
        this.learningRate = lr;
      }
    })(0.05, ADAM_DEFAULTS.beta1, ADAM_DEFAULTS.beta2, ADAM_DEFAULTS.epsilon);
    runSteps((grads, step) => {
      tfAdam.setRate(0.05 / (step + 1));
      const decayed = tf.tidy(() => tf.add(grads[0]!, tf.mul(reference[0]!, weightDecay)));
      tfAdam.applyGradients([
        { name: reference[0]!.name, tensor: decayed },
        { name: reference[1]!.name, tensor: grads[1]! },
      ]);
      decayed.dispose();
    }, reference);

    ours.forEach((v, i) => {
      const got = Array.from(v.dataSync());
      const want = reference[i]!.dataSync();
      // Every weight moved, and both optimisers moved it the same way.
      expect(Math.min(...got.map((x, j) => Math.abs(x - initial[i]![j]!)))).toBeGreaterThan(0.01);
      got.forEach((x, j) => expect(x).toBeCloseTo(want[j]!, 5));
    });
    tfAdam.dispose();
    tf.dispose([...ours, ...reference]);
  });

  it("keeps each step's weights in the tensor it assigned, after later steps reuse its memory", () => {
    const variables = makeVariables();
    const adam = new HostAdam(variables, []);
    const grad = tf.ones([2, 2]);
    adam.apply([grad, null], 0.1);
    // A tensor that shares the variable's data, as tf.clone does: it must keep step 1's weights.
    const afterFirst = tf.clone(variables[0]!);
    const firstValues = Array.from(afterFirst.dataSync());
    adam.apply([grad, null], 0.1);
    expect(Array.from(afterFirst.dataSync())).toEqual(firstValues);
    expect(variables[0]!.dataSync()[0]).toBeCloseTo(firstValues[0]! - 0.1, 4);
    tf.dispose([grad, afterFirst, ...variables]);
  });

  it('leaves a variable without a gradient alone, leaks no tensor and checks the gradient count', () => {
    const variables = makeVariables();
    const adam = new HostAdam(variables, []);
    const before = tf.memory().numTensors;
    const grad = tf.ones([2, 2]);
    for (let i = 0; i < 5; i++) adam.apply([grad, null], 0.1);
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(variables[1]!.dataSync())).toEqual([-1, 0.5]);
    // Adam's first step moves each weight by the learning rate against the gradient's sign.
    expect(variables[0]!.dataSync()[0]).toBeCloseTo(1 - 5 * 0.1, 4);
    expect(() => adam.apply([null], 0.1)).toThrow(/1 gradients for 2 variables/);
    tf.dispose(variables);
  });
});
