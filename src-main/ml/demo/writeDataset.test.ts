import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFile } from '../image/decode.js';
import { CRITTER_KEYPOINTS } from './critter.js';
import { renderDemoSample } from './generate.js';
import { replaceDemoDataset, writeDemoDataset } from './writeDataset.js';

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ls-demo-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('writeDemoDataset', () => {
  it('writes images/ and labels.json in the shared datasets format plus the documented extras', async () => {
    const dir = path.join(root, 'frames');
    await writeDemoDataset(dir, { regime: 'frame', count: 3, seed: 9 });
    const labels = JSON.parse(await fs.readFile(path.join(dir, 'labels.json'), 'utf8'));
    expect(Object.keys(labels).sort()).toEqual([
      'colors',
      'flipPairs',
      'items',
      'meta',
      'names',
      'normPair',
      'skeleton',
    ]);
    expect(typeof labels.meta.source).toBe('string');
    expect(typeof labels.meta.license).toBe('string');
    expect(labels.names).toEqual([...CRITTER_KEYPOINTS]);
    expect(labels.items).toHaveLength(3);
    for (const [i, item] of (
      labels.items as { file: string; points: [number, number][]; visibility: string[] }[]
    ).entries()) {
      expect(item.points).toHaveLength(CRITTER_KEYPOINTS.length);
      expect(item.visibility).toHaveLength(CRITTER_KEYPOINTS.length);
      const image = await decodeImageFile(path.join(dir, 'images', item.file));
      expect([image.width, image.height]).toEqual([640, 480]);
      // the file holds exactly the rendered pixels and the labels its points (to 1/1000 px)
      const sample = renderDemoSample(9, i, { regime: 'frame' });
      expect(Buffer.from(image.data).equals(Buffer.from(sample.rgb))).toBe(true);
      item.points.forEach((p, k) => {
        expect(p[0]).toBeCloseTo(sample.points[k]![0], 3);
        expect(p[1]).toBeCloseTo(sample.points[k]![1], 3);
      });
      expect(item.visibility).toEqual(sample.visibility);
    }
  });

  it('is byte-for-byte deterministic for a seed', async () => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    await writeDemoDataset(a, { regime: 'crop', count: 4, seed: 2, size: 64 });
    await writeDemoDataset(b, { regime: 'crop', count: 4, seed: 2, size: 64 });
    for (const rel of ['labels.json', 'images/000000.png', 'images/000003.png']) {
      expect((await fs.readFile(path.join(a, rel))).equals(await fs.readFile(path.join(b, rel))), rel).toBe(true);
    }
  });

  it('replaces an earlier demo set but refuses a folder it did not write', async () => {
    const dir = path.join(root, 'replace');
    await writeDemoDataset(dir, { regime: 'crop', count: 5, seed: 1, size: 48 });
    await replaceDemoDataset(dir, { regime: 'crop', count: 2, seed: 1, size: 48 });
    expect(await fs.readdir(path.join(dir, 'images'))).toEqual(['000000.png', '000001.png']);

    const foreign = path.join(root, 'photos');
    await fs.mkdir(foreign);
    await fs.writeFile(path.join(foreign, 'holiday.jpg'), 'precious');
    await expect(replaceDemoDataset(foreign, { regime: 'crop', count: 1, seed: 1 })).rejects.toThrow(/not empty/);
    expect(await fs.readFile(path.join(foreign, 'holiday.jpg'), 'utf8')).toBe('precious');
  });

  it('rejects bad counts and seeds', async () => {
    await expect(writeDemoDataset(path.join(root, 'x'), { regime: 'crop', count: 0, seed: 1 })).rejects.toThrow(
      /count/,
    );
    await expect(writeDemoDataset(path.join(root, 'x'), { regime: 'crop', count: 1, seed: 1.5 })).rejects.toThrow(
      /seed/,
    );
  });
});

describe('resources/demo', () => {
  it('is what `npm run gen:demo` writes (40 crops, seed 1, 100 px) and small', async () => {
    const committed = path.resolve(__dirname, '../../../resources/demo');
    const labels = JSON.parse(await fs.readFile(path.join(committed, 'labels.json'), 'utf8'));
    expect(labels.meta.generator).toEqual({ regime: 'crop', count: 40, seed: 1, size: 100 });
    const fresh = path.join(root, 'fresh');
    await writeDemoDataset(fresh, { regime: 'crop', count: 40, seed: 1, size: 100 });
    expect(await fs.readFile(path.join(fresh, 'labels.json'), 'utf8')).toBe(
      await fs.readFile(path.join(committed, 'labels.json'), 'utf8'),
    );
    // Pixels, not file bytes: another platform's zlib may compress the same pixels differently.
    let bytes = 0;
    for (const item of labels.items as { file: string }[]) {
      const file = path.join(committed, 'images', item.file);
      const [a, b] = await Promise.all([decodeImageFile(file), decodeImageFile(path.join(fresh, 'images', item.file))]);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data)), item.file).toBe(true);
      bytes += (await fs.stat(file)).size;
    }
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });
});
