import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLabeledExamples, type LabeledItem } from './labeledExamples.js';

let dir: string;

async function image(name: string, width: number, height: number): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 90 } } })
    .png()
    .toFile(file);
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labeled-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const visible = (x: number, y: number) => ({ x, y, visibility: 'visible' as const });

describe('loading labeled examples', () => {
  it('refuses zero labeled images with a clear message', async () => {
    await expect(loadLabeledExamples([], { inputSize: 32, mode: 'letterbox', keypointCount: 2 })).rejects.toThrow(
      /training needs labeled images: none were given/,
    );
  });

  it('letterboxes images of wildly different sizes and maps points into the input', async () => {
    const items: LabeledItem[] = [
      { id: 'wide', path: await image('wide.png', 1000, 50), points: [visible(500, 25), visible(0.5, 0.5)] },
      { id: 'tall', path: await image('tall.png', 30, 600), points: [visible(15, 300), null] },
    ];
    const set = await loadLabeledExamples(items, { inputSize: 40, mode: 'letterbox', keypointCount: 2 });
    expect(set.problems).toEqual([]);
    expect(set.examples.map((e) => e.pixels.length)).toEqual([40 * 40 * 3, 40 * 40 * 3]);
    const [wide, tall] = set.examples;
    expect(wide!.points[0]![0]).toBeCloseTo(20, 6);
    expect(wide!.points[0]![1]).toBeCloseTo(20, 0);
    expect(wide!.mask).toEqual([true, true]);
    expect(tall!.points[0]![1]).toBeCloseTo(20, 6);
    expect(tall!.mask).toEqual([true, false]);
    expect(set.unlabeledKeypoints).toEqual([]);
  });

  it('reports missing images, points outside the image and hidden points instead of failing', async () => {
    const good = await image('good.png', 80, 60);
    const items: LabeledItem[] = [
      { id: 7, path: path.join(dir, 'was-deleted.png'), points: [visible(1, 1), visible(2, 2)] },
      { id: 8, path: good, points: [visible(90, 10), { x: 5, y: 5, visibility: 'occluded' }] },
      { id: 9, path: good, points: [visible(40, 30), { x: 5, y: 5, visibility: 'absent' }] },
      { id: 10, path: good, points: [visible(1, 1)] },
    ];
    const set = await loadLabeledExamples(items, { inputSize: 32, mode: 'letterbox', keypointCount: 2 });
    expect(set.examples.map((e) => e.id)).toEqual([9]);
    expect(set.examples[0]!.mask).toEqual([true, false]);
    expect(set.unlabeledKeypoints).toEqual([1]);
    const text = set.problems.join('\n');
    expect(text).toMatch(/image 7 \(.*was-deleted\.png\) cannot be read/);
    expect(text).toMatch(/image 8: keypoint 0 at \(90, 10\) is outside the 80x60 image/);
    expect(text).toMatch(/image 8 has no visible labeled point/);
    expect(text).toMatch(/image 10: 1 points for 2 keypoints/);
  });

  it('fails with every reason when no labeled image is usable', async () => {
    const items: LabeledItem[] = [{ id: 'gone', path: path.join(dir, 'nope.png'), points: [visible(1, 1)] }];
    await expect(loadLabeledExamples(items, { inputSize: 32, mode: 'stretch', keypointCount: 1 })).rejects.toThrow(
      /none of the 1 labeled images can be used[\s\S]*nope\.png/,
    );
  });
});
