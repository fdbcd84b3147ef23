import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInputTransform, toOriginalPoint } from '../../src-shared/geometry.js';
import { initEngine, tf } from './engine.js';
import { predictLandmarks, type LandmarkPredictor } from './predict.js';

let dir: string;

/** A model that always "sees" keypoint 0 at the input's centre and keypoint 1 at its top-left pixel centre. */
const fixedPointModel: LandmarkPredictor = {
  keypointCount: 2,
  inputSize: 64,
  resizeMode: 'letterbox',
  predictInput(images: Tensor4D) {
    const b = images.shape[0];
    const coords = new Float32Array(b * 4);
    for (let i = 0; i < b; i++) coords.set([32, 32, 0.5, 0.5], i * 4);
    return { coords, confidence: new Float32Array(b * 2).fill(0.75) };
  },
};

async function writeImage(name: string, width: number, height: number): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 140, b: 30 } } })
    .png()
    .toFile(file);
  return file;
}

beforeAll(async () => {
  await initEngine();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('predictLandmarks', () => {
  it('returns points in each ORIGINAL image, for wildly different sizes (letterbox)', async () => {
    const items = [
      { id: 'wide', path: await writeImage('wide.png', 900, 60) },
      { id: 'tall', path: await writeImage('tall.png', 40, 300) },
      { id: 'square', path: await writeImage('square.png', 64, 64) },
    ];
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const report = await predictLandmarks(fixedPointModel, items, {
      batchSize: 2,
      onProgress: (done) => progress.push(done),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.problems).toEqual([]);
    expect(progress).toEqual([2, 3]);
    const byId = new Map(report.predictions.map((p) => [p.id, p.points]));
    // Each image maps through its own letterbox transform (whole-pixel content, so the input
    // centre lands within one input pixel of the image centre).
    for (const [id, width, height] of [
      ['wide', 900, 60],
      ['tall', 40, 300],
    ] as const) {
      const t = makeInputTransform({ imageWidth: width, imageHeight: height, size: 64, mode: 'letterbox' });
      const [x, y] = toOriginalPoint(t, [32, 32]);
      const centre = byId.get(id)![0]!;
      expect(centre.x).toBeCloseTo(x, 6);
      expect(centre.y).toBeCloseTo(y, 6);
      expect(Math.abs(centre.x - width / 2)).toBeLessThanOrEqual(1 / t.scaleX);
      expect(Math.abs(centre.y - height / 2)).toBeLessThanOrEqual(1 / t.scaleY);
    }
    // Top-left input pixel of the wide image lies in the padding above it: x scales by 900/64,
    // and y, above the image, is pulled onto its top edge.
    const wideCorner = byId.get('wide')![1]!;
    expect(wideCorner.x).toBeCloseTo(0.5 * (900 / 64), 6);
    expect(wideCorner.y).toBe(0);
    expect(byId.get('square')![1]).toEqual({ x: 0.5, y: 0.5, confidence: 0.75 });
  });

  it('reports images that cannot be read instead of failing the run', async () => {
    const good = await writeImage('good.png', 100, 80);
    const empty = path.join(dir, 'empty.png');
    fs.writeFileSync(empty, '');
    const items = [
      { id: 1, path: good },
      { id: 2, path: path.join(dir, 'deleted.png') },
      { id: 3, path: empty },
    ];
    const report = await predictLandmarks(fixedPointModel, items);
    expect(report.predictions.map((p) => p.id)).toEqual([1]);
    expect(report.problems).toHaveLength(2);
    expect(report.problems[0]).toContain('deleted.png');
    expect(report.problems[1]).toContain('empty.png');
  });
});

describe('predictLandmarks, batch by batch', () => {
  it('hands each batch over as it is made, after `prepare`, and keeps none', async () => {
    const items = await Promise.all(
      [1, 2, 3, 4, 5].map(async (id) => ({ id, path: await writeImage(`b${id}.png`, 80, 60) })),
    );
    const events: string[] = [];
    const report = await predictLandmarks(fixedPointModel, items, {
      batchSize: 2,
      prepare: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push('prepared');
      },
      onPredicted: (batch) => void events.push(batch.map((p) => p.id).join('+')),
    });
    expect(events).toEqual(['prepared', '1+2', '3+4', '5']);
    expect(report.predictions).toEqual([]);
  });

  it('leaks no tensor and stops reading when `prepare` fails', async () => {
    const items = await Promise.all(
      [1, 2, 3].map(async (id) => ({ id, path: await writeImage(`p${id}.png`, 80, 60) })),
    );
    const before = tf.memory().numTensors;
    const failed = predictLandmarks(fixedPointModel, items, {
      batchSize: 1,
      prepare: async () => {
        // the first batch is read (a tensor made) before this fails
        await new Promise((resolve) => setTimeout(resolve, 300));
        throw new Error('no references can be read');
      },
    });
    await expect(failed).rejects.toThrow('no references can be read');
    expect(tf.memory().numTensors).toBe(before);
  });
});
