import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scalar, Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from '../engine.js';
import { relativeError } from '../numericTestKit.js';
import { saveWeights } from '../weights.js';
import { backboneStages, createBackbone } from './index.js';
import type { Backbone } from './index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const hasTorch = spawnSync('python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

function paramCount(net: Backbone): number {
  return net.parameterNames.reduce((sum, name) => sum + net.weights.get(name)!.size, 0);
}

describe('ResNet backbones', () => {
  let r18: Backbone;
  beforeAll(async () => {
    await initEngine();
    r18 = createBackbone({ arch: 'resnet18' }, { seed: 11 });
  });
  afterAll(() => r18.dispose());

  it('ResNet-18 taps conv1..conv5_x at strides 2..32 with torchvision channel counts', () => {
    const x = tf.randomNormal([2, 96, 96, 3]) as Tensor4D;
    const taps = r18.apply(x, { training: false });
    expect(Object.fromEntries(Object.entries(taps).map(([k, v]) => [k, v.shape]))).toEqual({
      conv1: [2, 48, 48, 64],
      conv2_x: [2, 24, 24, 64],
      conv3_x: [2, 12, 12, 128],
      conv4_x: [2, 6, 6, 256],
      conv5_x: [2, 3, 3, 512],
    });
    tf.dispose([x, ...Object.values(taps)]);
  });

  it('has exactly torchvision ResNet-18/50 parameter counts without the classifier', () => {
    // torchvision: 11,689,512 and 25,557,032 parameters including fc (513,000 and 2,049,000)
    expect(paramCount(r18)).toBe(11_689_512 - 513_000);
    const r50 = createBackbone({ arch: 'resnet50' }, { seed: 1 });
    expect(paramCount(r50)).toBe(25_557_032 - 2_049_000);
    expect(r50.stages.map((s) => s.channels)).toEqual([64, 256, 512, 1024, 2048]);
    expect(backboneStages({ arch: 'resnet50' })).toEqual(r50.stages);
    const x = tf.randomNormal([1, 64, 64, 3]) as Tensor4D;
    const taps = r50.apply(x, { training: false, stages: ['conv5_x'] });
    expect(taps.conv5_x!.shape).toEqual([1, 2, 2, 2048]);
    tf.dispose([x, ...Object.values(taps)]);
    r50.dispose();
  });

  it('returns only the requested taps and rejects images without 3 channels', () => {
    const x = tf.zeros([1, 32, 32, 3]) as Tensor4D;
    const taps = r18.apply(x, { training: false, stages: ['conv3_x', 'conv2_x'] });
    expect(Object.keys(taps).sort()).toEqual(['conv2_x', 'conv3_x']);
    tf.dispose([x, ...Object.values(taps)]);
    const gray = tf.zeros([1, 32, 32, 1]) as Tensor4D;
    expect(() => r18.apply(gray, { training: false })).toThrow(
      /expects \[B, H, W, 3\] images, got shape \[1,32,32,1\]/,
    );
    gray.dispose();
  });

  it('fine-tuning none / last / all selects no, conv5_x-only, or every parameter', () => {
    expect(r18.trainableVariables('none')).toEqual([]);
    const lastNames = r18.parameterNames.filter((n) => n.startsWith('layer4.'));
    expect(r18.trainableVariables('last').length).toBe(lastNames.length);
    expect(new Set(r18.trainableVariables('last'))).toEqual(new Set(lastNames.map((n) => r18.weights.get(n))));
    expect(r18.trainableVariables('all').length).toBe(r18.parameterNames.length);
    expect(r18.parameterNames.some((n) => n.endsWith('running_mean'))).toBe(false);
  });

  it('training with fineTune "last" updates conv5_x statistics only; frozen stages act as in inference', () => {
    const x = tf.randomNormal([4, 64, 64, 3]) as Tensor4D;
    const before = (name: string) => r18.weights.get(name)!.dataSync().slice();
    const stem = before('bn1.running_mean');
    const last = before('layer4.1.bn2.running_mean');
    const frozenInference = r18.apply(x, { training: false, stages: ['conv4_x'] });
    const taps = r18.apply(x, { training: true, fineTune: 'last' });
    expect(Array.from(r18.weights.get('bn1.running_mean')!.dataSync())).toEqual(Array.from(stem));
    expect(Array.from(r18.weights.get('layer4.1.bn2.running_mean')!.dataSync())).not.toEqual(Array.from(last));
    expect(tf.max(tf.abs(tf.sub(taps.conv4_x!, frozenInference.conv4_x!))).dataSync()[0]).toBe(0);
    tf.dispose([x, ...Object.values(taps), ...Object.values(frozenInference)]);
  });

  it('key-encoder copies (trainable: false) hold no trainable tf variables', () => {
    const key = createBackbone({ arch: 'resnet18' }, { seed: 2, trainable: false });
    expect([...key.weights.values()].every((v) => !v.trainable)).toBe(true);
    expect(
      [...r18.weights.entries()].filter(([n]) => r18.parameterNames.includes(n)).every(([, v]) => v.trainable),
    ).toBe(true);
    key.dispose();
  });

  it('keeps tf.memory().numTensors flat across forward passes and SGD training steps', () => {
    const x = tf.randomNormal([2, 64, 64, 3]) as Tensor4D;
    const optimizer = tf.train.momentum(0.01, 0.9);
    const vars = r18.trainableVariables('all');
    const step = () => {
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(r18.apply(x, { training: true, stages: ['conv5_x'] }).conv5_x!)) as Scalar,
        true,
        vars,
      );
      loss!.dispose();
    };
    const forward = () => tf.dispose(Object.values(r18.apply(x, { training: false })));
    step(); // creates the optimizer's momentum slots once
    forward();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      step();
      forward();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    optimizer.dispose();
  });

  it.skipIf(!hasTorch)(
    'computes what PyTorch computes with the same weights (eval taps, BN running stats) [needs python3 torch]',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-parity-'));
      const net = createBackbone({ arch: 'resnet18' }, { seed: 5 });
      const x = tf.randomNormal([2, 40, 40, 3]) as Tensor4D;
      try {
        // Non-trivial batch-norm state so eval mode is tested, not identity statistics.
        for (const [name, v] of net.weights) {
          if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2));
          else if (v.rank === 1 && name.endsWith('.weight')) v.assign(tf.randomUniform(v.shape, 0.5, 1.5));
          else if (v.rank === 1) v.assign(tf.randomNormal(v.shape, 0, 0.1)); // BN bias, running mean
        }
        await saveWeights(path.join(dir, 'w'), net.weights);
        fs.writeFileSync(path.join(dir, 'x.bin'), x.dataSync());
        const script = path.join(repoRoot, 'bench/pytorch/resnet_parity.py');
        const res = spawnSync(
          'python3',
          [script, 'resnet18', path.join(dir, 'w'), path.join(dir, 'x.bin'), '2', '40', '40', dir],
          { encoding: 'utf8' },
        );
        expect(res.status, res.stderr).toBe(0);
        const read = (file: string) => new Float32Array(new Uint8Array(fs.readFileSync(path.join(dir, file))).buffer);

        const taps = net.apply(x, { training: false });
        for (const [name, tap] of Object.entries(taps)) {
          const theirs = read(`eval_${name}.bin`);
          const ours = tap.dataSync();
          expect(theirs.length).toBe(ours.length);
          expect(relativeError(ours, theirs), name).toBeLessThan(1e-4);
        }
        tf.dispose(Object.values(taps));

        tf.dispose(Object.values(net.apply(x, { training: true })));
        const [mean, variance] = [read('running_mean.bin'), read('running_var.bin')];
        const [ourMean, ourVar] = [
          net.weights.get('bn1.running_mean')!.dataSync(),
          net.weights.get('bn1.running_var')!.dataSync(),
        ];
        for (let i = 0; i < 64; i++) {
          expect(ourMean[i]).toBeCloseTo(mean[i]!, 4);
          expect(ourVar[i]).toBeCloseTo(variance[i]!, 3);
        }
      } finally {
        x.dispose();
        net.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
