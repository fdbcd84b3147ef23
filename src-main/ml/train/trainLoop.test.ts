import type { Scalar, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { batchNorm, conv2d, ParameterSet } from '../backbones/layers.js';
import { relu } from '../backbones/nativeOps.js';
import { initEngine, tf } from '../engine.js';
import type { TrainProgress } from './config.js';
import { GraphStep } from './graphStep.js';
import { cosineLearningRate, runTrainLoop } from './trainLoop.js';

beforeAll(async () => {
  await initEngine();
});

/** y = x w* with w* = [2, -3]: a least-squares problem Adam solves in a few hundred steps. */
function linearProblem(weightDecay = 0, steps = 300) {
  const w = tf.variable(tf.zeros([2, 1]));
  const x = tf.tensor2d([1, 0, 0, 1, 1, 1, 2, -1], [4, 2]);
  const y = tf.matMul(x, tf.tensor2d([2, -3], [2, 1]));
  const spec = {
    optimizer: { learningRate: 0.1, weightDecay, steps, batchSize: 4 },
    trainable: [w],
    decayed: [w],
    makeBatch: () => ({ x, y }),
    batchImages: () => 4,
    loss: (b: { x: Tensor2D; y: Tensor2D }) => tf.mean(tf.square(tf.sub(tf.matMul(b.x, w), b.y))) as Scalar,
    disposeBatch: () => undefined,
  };
  return { w, spec, dispose: () => tf.dispose([w, x, y]) };
}

describe('training loop', () => {
  it('follows a cosine schedule from the base rate to zero', () => {
    expect(cosineLearningRate(0.01, 0, 100)).toBeCloseTo(0.01, 12);
    expect(cosineLearningRate(0.01, 50, 100)).toBeCloseTo(0.005, 12);
    expect(cosineLearningRate(0.01, 100, 100)).toBeCloseTo(0, 12);
  });

  it('drives the loss down, reports progress and leaks no tensor', async () => {
    const problem = linearProblem();
    const before = tf.memory().numTensors;
    const reports: TrainProgress[] = [];
    const result = await runTrainLoop(problem.spec, { onProgress: (p) => reports.push(p), progressEvery: 50 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.losses).toHaveLength(300);
    expect(result.losses[299]!).toBeLessThan(1e-3 * result.losses[0]!);
    const [w0, w1] = problem.w.dataSync();
    expect(w0).toBeCloseTo(2, 2);
    expect(w1).toBeCloseTo(-3, 2);
    expect(reports.map((r) => r.step)).toEqual([50, 100, 150, 200, 250, 300]);
    const last = reports[reports.length - 1]!;
    expect(last.totalSteps).toBe(300);
    expect(last.etaSeconds).toBe(0);
    expect(last.imagesPerSecond).toBeGreaterThan(0);
    expect(reports[0]!.loss).toBeGreaterThan(last.loss);
    problem.dispose();
  });

  it('adds weight decay as PyTorch Adam does (gradient wd * w): it pulls weights to zero', async () => {
    // With decay 1 the optimum of mean((xw - y)^2) + 0.5 ||w||^2 is (2 X^T X / n + I)^-1 (2 X^T y / n).
    const problem = linearProblem(1, 400);
    await runTrainLoop(problem.spec);
    const xtx = [
      [6, -1],
      [-1, 3],
    ].map((row) => row.map((v) => (2 * v) / 4));
    const xty = [(2 * 15) / 4, (2 * -11) / 4]; // X^T y = [15, -11]
    const a = xtx[0]![0]! + 1;
    const b = xtx[0]![1]!;
    const d = xtx[1]![1]! + 1;
    const det = a * d - b * b;
    const expected = [(d * xty[0]! - b * xty[1]!) / det, (a * xty[1]! - b * xty[0]!) / det];
    const [w0, w1] = problem.w.dataSync();
    expect(w0).toBeCloseTo(expected[0]!, 2);
    expect(w1).toBeCloseTo(expected[1]!, 2);
    problem.dispose();
  });

  it('stops when its wall-clock budget is spent, with the cosine schedule run out over that budget', async () => {
    const problem = linearProblem(0, 100_000);
    const reports: TrainProgress[] = [];
    const spec = {
      ...problem.spec,
      optimizer: { ...problem.spec.optimizer, budgetSeconds: 0.4 },
      // ~20 ms a step: the budget, not the 100 000 steps, ends the run.
      makeBatch: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return problem.spec.makeBatch();
      },
    };
    const result = await runTrainLoop(spec, { onProgress: (p) => reports.push(p) });
    expect(result.losses.length).toBeGreaterThan(3);
    expect(result.losses.length).toBeLessThan(40);
    expect(result.seconds).toBeGreaterThanOrEqual(0.4);
    // At most one step past the budget (generous: a loaded machine can stretch a step).
    expect(result.seconds).toBeLessThan(0.4 + 1);
    // The rate fell from the base over the budget, not over the 100 000 steps.
    expect(reports[0]!.learningRate).toBeGreaterThan(0.09);
    expect(reports[reports.length - 1]!.learningRate).toBeLessThan(0.02);
    expect(reports[reports.length - 1]!.totalSteps).toBeLessThan(100);
    // The step that spends the budget is reported, whatever progressEvery says.
    const sparse: TrainProgress[] = [];
    const short = await runTrainLoop(
      { ...spec, optimizer: { ...spec.optimizer, budgetSeconds: 0.2 } },
      { onProgress: (p) => sparse.push(p), progressEvery: 1000 },
    );
    expect(sparse.map((p) => [p.step, p.totalSteps, p.etaSeconds])).toEqual([
      [short.losses.length, short.losses.length, 0],
    ]);
    await expect(runTrainLoop({ ...spec, optimizer: { ...spec.optimizer, budgetSeconds: 0 } })).rejects.toThrow(
      /positive number of seconds/,
    );
    problem.dispose();
  });

  it('stops with an AbortError when cancelled, leaking nothing', async () => {
    const problem = linearProblem(0, 10_000);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const run = runTrainLoop(problem.spec, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 5) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'training cancelled at step 5' });
    expect(tf.memory().numTensors).toBe(before);
    problem.dispose();
  });

  it('trains the same with its steps replayed as a graph as op by op, batch norm statistics included', async () => {
    // conv + training batch norm + ReLU + conv, regressing a fixed map; 4 batches cycled.
    const inputs = [1, 2, 3, 4].map((s) => tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', s) as Tensor4D);
    const target = tf.randomNormal([2, 5, 5, 1], 0, 1, 'float32', 7) as Tensor4D;
    type Batch = { x: Tensor4D; y: Tensor4D };
    const train = async (graph: 'off' | 'on' | 'target not fed') => {
      const params = new ParameterSet(11, true);
      const conv = params.conv('c', 's', { in: 3, out: 4, kernel: 3, pad: 1 });
      const norm = params.batchNorm('bn', 's', 4);
      const out = params.conv('o', 's', { in: 4, out: 1, kernel: 1, bias: true });
      const all = [...params.params.values()];
      const trainable = all.filter((p) => p.trainable).map((p) => p.variable);
      const result = await runTrainLoop({
        optimizer: { learningRate: 0.01, weightDecay: 1e-3, steps: 12, batchSize: 2 },
        trainable,
        decayed: [conv.weight],
        makeBatch: (step) => ({ x: inputs[step % 4]!, y: target }),
        batchImages: () => 2,
        loss: (b: Batch) =>
          tf.mean(tf.square(tf.sub(conv2d(relu(batchNorm(conv2d(b.x, conv), norm, true)), out), b.y))) as Scalar,
        disposeBatch: () => undefined,
        ...(graph === 'off'
          ? {}
          : {
              reads: all.map((p) => p.variable),
              batchTensors: (b: Batch) => (graph === 'on' ? [b.x, b.y] : [b.x]),
            }),
      });
      const values = all.map((p) => Array.from(p.variable.dataSync()));
      params.dispose();
      return { losses: result.losses, values };
    };
    const eager = await train('off');
    const runs = vi.spyOn(GraphStep.prototype, 'run');
    const warn = vi.spyOn(console, 'warn');
    const before = tf.memory().numTensors;
    const graph = await train('on');
    expect(tf.memory().numTensors).toBe(before);
    expect(runs).toHaveBeenCalledTimes(11); // every step after the traced first one
    expect(warn).not.toHaveBeenCalled();
    runs.mockRestore();
    warn.mockRestore();
    expect(graph.losses[11]!).toBeLessThan(0.8 * graph.losses[0]!);
    graph.losses.forEach((loss, i) => expect(loss).toBeCloseTo(eager.losses[i]!, 4));
    // weights, biases and both moving statistics
    graph.values.forEach((values, i) =>
      values.forEach((v, j) => expect(Math.abs(v - eager.values[i]![j]!)).toBeLessThan(1e-4)),
    );
    // A step that reads a tensor it is not fed cannot be a graph: it trains op by op, and says so.
    const refused = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const unfed = await train('target not fed');
    expect(refused).toHaveBeenCalledTimes(1);
    expect(String(refused.mock.calls[0]![0])).toMatch(/runs op by op.*neither fed nor made in it/);
    refused.mockRestore();
    expect(unfed.losses).toEqual(eager.losses);
    tf.dispose([...inputs, target]);
  });

  it('rejects a run with no steps or nothing to train', async () => {
    const problem = linearProblem(0, 0);
    await expect(runTrainLoop(problem.spec)).rejects.toThrow(/at least one step/);
    await expect(
      runTrainLoop({ ...problem.spec, optimizer: { ...problem.spec.optimizer, steps: 5 }, trainable: [] }),
    ).rejects.toThrow(/no trainable variables/);
    problem.dispose();
  });
});
