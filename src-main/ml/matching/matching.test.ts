import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor2D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInputTransform } from '../../../src-shared/geometry.js';
import { createBackbone, type Backbone } from '../backbones/index.js';
import { initEngine, tf } from '../engine.js';
import { DescriptorCache } from './descriptorCache.js';
import { descriptorAt, describePixels, gridSizeOf, type DescriptorMap } from './descriptors.js';
import { findPeaks, similarityMap } from './match.js';
import { propagateLabels, weightedMedian } from './propagate.js';

/** A map whose cell (x, y) has a descriptor that only it has, plus `shift` cells of offset. */
function positionalMap(width: number, height: number, shift: [number, number] = [0, 0]): DescriptorMap {
  const dim = 3;
  const data = new Float32Array(width * height * dim);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      // Points on a sphere cap: nearby cells are similar, far cells are not.
      const u = (x - shift[0]) / width - 0.5;
      const v = (y - shift[1]) / height - 0.5;
      const n = Math.hypot(u, v, 0.5);
      data.set([u / n, v / n, 0.5 / n], (y * width + x) * dim);
    }
  return { width, height, dim, data };
}

describe('descriptor maps', () => {
  let backbone: Backbone;
  beforeAll(async () => {
    await initEngine();
    backbone = createBackbone({ arch: 'resnet18' }, { seed: 5 });
  });
  afterAll(() => backbone.dispose());

  const images = (n: number, size: number): Uint8Array[] =>
    Array.from({ length: n }, (_, i) => Uint8Array.from({ length: size * size * 3 }, (_, j) => (j * 7 + i * 13) % 256));

  it('gives unit descriptors on a half-resolution grid, batch by batch, with a flat tensor count', async () => {
    const net = { backbone, stages: ['conv2_x', 'conv3_x'], inputSize: 32, projection: null };
    await describePixels(net, images(1, 32)); // warm-up: kernels' first use may keep tensors
    const before = tf.memory().numTensors;
    const maps = await describePixels(net, images(5, 32), 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(maps).toHaveLength(5);
    expect(gridSizeOf(net)).toEqual([16, 16]);
    expect(maps[0]).toMatchObject({ width: 16, height: 16, dim: 64 + 128 });
    const d = descriptorAt(maps[3]!, [4, 7]);
    expect(Math.hypot(...d)).toBeCloseTo(1, 5);
    // The same image alone or in a batch gives the same map (inference batch norm).
    const alone = await describePixels(net, [images(5, 32)[3]!]);
    expect(Math.max(...alone[0]!.data.map((v, i) => Math.abs(v - maps[3]!.data[i]!)))).toBeLessThan(1e-4);
  });

  it('projects with a run projection to d dimensions', async () => {
    const projection = tf.randomNormal([192, 8], 0, 1, 'float32', 3) as Tensor2D;
    const net = { backbone, stages: ['conv2_x', 'conv3_x'], inputSize: 32, projection };
    const before = tf.memory().numTensors;
    const [map] = await describePixels(net, images(1, 32));
    expect(tf.memory().numTensors).toBe(before);
    expect(map!.dim).toBe(8);
    projection.dispose();
  });

  it('refuses images of another size', async () => {
    const net = { backbone, stages: ['conv2_x'], inputSize: 32, projection: null };
    await expect(describePixels(net, images(1, 16))).rejects.toThrow(/expected 3072/);
  });
});

describe('matching', () => {
  it('finds a shifted point with sub-cell precision', () => {
    const ref = positionalMap(20, 20);
    const target = positionalMap(20, 20, [2.3, -1.6]);
    const match = findPeaks(similarityMap(target, descriptorAt(ref, [8, 9])), 20, 20);
    expect(match.point[0]).toBeCloseTo(10.3, 0);
    expect(match.point[1]).toBeCloseTo(7.4, 0);
    expect(Math.abs(match.point[0] - 10.3)).toBeLessThan(0.35);
    expect(match.score).toBeGreaterThan(0.99);
    // A smooth single-peaked map has no second local maximum.
    expect(match.second).toBeNull();
    expect(match.margin).toBeCloseTo(match.score + 1, 6);
  });

  it('sees a mirrored twin as a second peak close to the first (a left/right swap)', () => {
    const similarity = new Float32Array(10 * 10).fill(0);
    similarity[2 * 10 + 2] = 0.9;
    similarity[2 * 10 + 7] = 0.88;
    const match = findPeaks(similarity, 10, 10);
    expect(match.point).toEqual([2, 2]);
    expect(match.second).toEqual({ point: [7, 2], score: expect.closeTo(0.88, 5) });
    expect(match.margin).toBeCloseTo(0.02, 5);
  });

  it('refuses a query of another dimension', () => {
    expect(() => similarityMap(positionalMap(4, 4), new Float32Array(5))).toThrow(/5-D query/);
  });
});

describe('label propagation', () => {
  it('takes the weighted median', () => {
    expect(weightedMedian([1, 2, 100], [1, 1, 1])).toBe(2);
    expect(weightedMedian([1, 2, 100], [1, 1, 5])).toBe(100);
  });

  it('predicts from one labeled image, and outvotes a bad reference with good ones', () => {
    const target = positionalMap(16, 16, [1, 1]);
    const one = propagateLabels(target, [{ map: positionalMap(16, 16), points: [[5, 5], null] }], 1);
    expect(one[0]!.point![0]).toBeCloseTo(6, 0);
    expect(one[1]).toEqual({ point: null, score: 0, references: 0 });
    const labeled = [
      { map: positionalMap(16, 16), points: [[5, 5] as [number, number]] },
      { map: positionalMap(16, 16, [1, 1]), points: [[6, 6] as [number, number]] },
      { map: positionalMap(16, 16, [1, 1]), points: [[13, 2] as [number, number]] }, // mislabeled
    ];
    const [p] = propagateLabels(target, labeled, 3);
    expect(p!.references).toBe(3);
    expect(Math.hypot(p!.point![0] - 6, p!.point![1] - 6)).toBeLessThan(0.5);
  });
});

describe('descriptor cache', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lsd-cache-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const transform = makeInputTransform({ imageWidth: 64, imageHeight: 48, size: 32, mode: 'letterbox' });
  const entry = { map: positionalMap(8, 8), transform };

  it('round-trips a map in float16 with its transform', () => {
    const cache = new DescriptorCache(path.join(dir, 'a'));
    expect(cache.read('run1', 'img1')).toBeNull();
    cache.write('run1', 'img1', entry);
    const back = cache.read('run1', 'img1')!;
    expect(back.transform).toEqual(transform);
    expect(back.map.dim).toBe(3);
    expect(Math.max(...back.map.data.map((v, i) => Math.abs(v - entry.map.data[i]!)))).toBeLessThan(1e-3);
    expect(cache.read('run2', 'img1')).toBeNull();
  });

  it('deletes and reports a damaged entry, then reads it as missing', () => {
    const problems: string[] = [];
    const cache = new DescriptorCache(path.join(dir, 'b'), undefined, (m) => problems.push(m));
    cache.write('run1', 'img1', entry);
    const file = cache.file('run1', 'img1');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(cache.read('run1', 'img1')).toBeNull();
    expect(problems).toEqual([expect.stringMatching(/damaged \(checksum mismatch\): deleted, computed again/)]);
    expect(fs.existsSync(file)).toBe(false);
    cache.write('run1', 'img1', entry);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    expect(cache.read('run1', 'img1')).toBeNull();
    expect(problems[1]).toMatch(/374 bytes of map where 384 were written/);
  });

  it('evicts the least recently used entries to stay under its cap; a map larger than the cap stays uncached, said so', () => {
    const one = new DescriptorCache(path.join(dir, 'probe'));
    one.write('s', 'probe', entry);
    const entrySize = one.size();
    const cache = new DescriptorCache(path.join(dir, 'c'), entrySize * 2 + 10);
    cache.write('s', 'i1', entry);
    cache.write('s', 'i2', entry);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(cache.file('s', 'i1'), old, old);
    cache.write('s', 'i3', entry);
    expect(cache.read('s', 'i1')).toBeNull();
    expect(cache.read('s', 'i2')).not.toBeNull();
    expect(cache.size()).toBeLessThanOrEqual(entrySize * 2 + 10);
    const problems: string[] = [];
    const tiny = new DescriptorCache(path.join(dir, 'd'), 100, (m) => problems.push(m));
    tiny.write('s', 'i', entry);
    expect(problems).toEqual([
      expect.stringMatching(/cap of 0.1 KiB cannot hold one 8x8x3 map .*: it is used uncached/),
    ]);
    expect(tiny.read('s', 'i')).toBeNull();
  });

  it('reports a folder it cannot write and goes on without caching', () => {
    const problems: string[] = [];
    const blocker = path.join(dir, 'file-not-folder');
    fs.writeFileSync(blocker, 'x');
    const cache = new DescriptorCache(blocker, undefined, (m) => problems.push(m));
    cache.write('s', 'i', entry);
    expect(problems[0]).toMatch(/could not cache a descriptor map .*: it is used uncached/);
  });
});
