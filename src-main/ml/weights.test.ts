import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs';
import { initEngine, tf } from './engine.js';
import { createBackbone } from './backbones/index.js';
import type { Backbone } from './backbones/index.js';
import { copyWeights, emaUpdate, loadWeightsInto, readWeights, saveWeights, WeightsError } from './weights.js';

function maxAbsDiff(a: Tensor4D, b: Tensor4D): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('weights', () => {
  let dir: string;
  let nets: Backbone[];
  const net = (seed: number, arch: 'resnet18' | 'smallnet' = 'smallnet') => {
    const n = createBackbone(arch === 'smallnet' ? { arch, outChannels: 5 } : { arch }, { seed });
    nets.push(n);
    return n;
  };
  beforeAll(async () => {
    await initEngine();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-test-'));
    nets = [];
  });
  afterEach(() => {
    for (const n of nets) n.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round trip: a different network loaded from disk computes the same outputs, metadata kept', async () => {
    const a = net(1);
    const b = net(2);
    const x = tf.randomNormal([2, 16, 16, 3]) as Tensor4D;
    tf.dispose(Object.values(a.apply(x, { training: true }))); // moving statistics away from init
    const modelDir = path.join(dir, 'models', 'run-1');
    await saveWeights(modelDir, a.weights, { arch: 'smallnet', method: 'test' });
    expect(fs.readdirSync(modelDir).sort()).toEqual(['model.json', 'weights.bin']);
    const ya = a.apply(x, { training: false }).conv6!;
    const yb0 = b.apply(x, { training: false }).conv6!;
    expect(maxAbsDiff(ya, yb0)).toBeGreaterThan(1e-3);
    const meta = loadWeightsInto(modelDir, b.weights);
    expect(meta).toEqual({ arch: 'smallnet', method: 'test' });
    const yb = b.apply(x, { training: false }).conv6!;
    expect(maxAbsDiff(ya, yb)).toBe(0);
    tf.dispose([x, ya, yb0, yb]);
  });

  it('replaces an existing model in place and leaves no temporary folders', async () => {
    const modelDir = path.join(dir, 'm');
    await saveWeights(modelDir, net(1).weights, { version: 1 });
    await saveWeights(modelDir, net(2).weights, { version: 2 });
    expect(readWeights(modelDir).metadata).toEqual({ version: 2 });
    expect(fs.readdirSync(dir)).toEqual(['m']);
  });

  it('recovers the previous model when a save died between its two renames', async () => {
    const modelDir = path.join(dir, 'm');
    await saveWeights(modelDir, net(1).weights, { version: 1 });
    fs.renameSync(modelDir, path.join(dir, '.m.old-123-crash')); // what the crash leaves behind
    const { tensors, metadata } = readWeights(modelDir);
    expect(metadata).toEqual({ version: 1 });
    for (const t of tensors.values()) t.dispose();
    expect(fs.readdirSync(dir)).toEqual(['m']);
  });

  it('a truncated weights file gives a clear error', async () => {
    const modelDir = path.join(dir, 'm');
    await saveWeights(modelDir, net(1).weights);
    const bin = path.join(modelDir, 'weights.bin');
    fs.truncateSync(bin, fs.statSync(bin).size - 10);
    expect(() => loadWeightsInto(modelDir, net(2).weights)).toThrow(WeightsError);
    expect(() => readWeights(modelDir)).toThrow(/weights\.bin is corrupted: \d+ bytes, expected \d+ \(truncated/);
  });

  it('a flipped byte fails the checksum, and the target keeps its weights', async () => {
    const modelDir = path.join(dir, 'm');
    await saveWeights(modelDir, net(1).weights);
    const bin = path.join(modelDir, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(bin, bytes);
    const target = net(2);
    const before = target.weights.get('conv1.weight')!.dataSync().slice();
    expect(() => loadWeightsInto(modelDir, target.weights)).toThrow(
      /weights\.bin is corrupted: its checksum does not match/,
    );
    expect(Array.from(target.weights.get('conv1.weight')!.dataSync())).toEqual(Array.from(before));
  });

  it('damaged or foreign model.json, and a missing model, give clear errors', async () => {
    const modelDir = path.join(dir, 'm');
    expect(() => readWeights(modelDir)).toThrow(/no saved weights at .*model\.json is missing/);
    await saveWeights(modelDir, net(1).weights);
    const json = path.join(modelDir, 'model.json');
    fs.writeFileSync(json, '{"format": "landmark-studio-weights/1", "weightsMan');
    expect(() => readWeights(modelDir)).toThrow(/model\.json is corrupted: not valid JSON/);
    fs.writeFileSync(json, JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    expect(() => readWeights(modelDir)).toThrow(/not a Landmark Studio weights file/);
  });

  it('weights of another architecture are refused without touching the target', async () => {
    const modelDir = path.join(dir, 'm');
    await saveWeights(modelDir, net(1, 'smallnet').weights);
    const other = createBackbone({ arch: 'smallnet', outChannels: 7 }, { seed: 3 });
    nets.push(other);
    const before = other.weights.get('conv6.weight')!.dataSync().slice();
    expect(() => loadWeightsInto(modelDir, other.weights)).toThrow(
      /conv6\.weight has shape \[1,1,256,5\] in the file, \[1,1,256,7\] in the model/,
    );
    expect(Array.from(other.weights.get('conv6.weight')!.dataSync())).toEqual(Array.from(before));
    const resnet = net(4, 'resnet18');
    expect(() => loadWeightsInto(modelDir, resnet.weights)).toThrow(/do not fit this model: missing \d+ weight/);
  });

  it('copyWeights and emaUpdate (MoCo key encoder): copy, then m * key + (1 - m) * query', () => {
    const query = net(1);
    const key = createBackbone(query.config, { seed: 9, trainable: false });
    nets.push(key);
    copyWeights(key.weights, query.weights);
    const name = 'conv2.weight';
    expect(Array.from(key.weights.get(name)!.dataSync())).toEqual(Array.from(query.weights.get(name)!.dataSync()));
    const q0 = query.weights.get(name)!.dataSync()[0]!;
    query.weights.get(name)!.assign(tf.add(query.weights.get(name)!, 1));
    const before = tf.memory().numTensors;
    emaUpdate(key.weights, query.weights, 0.9, query.parameterNames);
    expect(tf.memory().numTensors).toBe(before);
    expect(key.weights.get(name)!.dataSync()[0]).toBeCloseTo(0.9 * q0 + 0.1 * (q0 + 1), 5);
    expect(() => emaUpdate(key.weights, query.weights, 1.5)).toThrow(/momentum must be in \[0, 1\]/);
    expect(() => copyWeights(key.weights, net(3, 'resnet18').weights)).toThrow(/different names/);
  });
});
