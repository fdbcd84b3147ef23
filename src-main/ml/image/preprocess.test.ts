import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInputTransform, toInputPoint, type InputTransform, type Point } from '../../../src-shared/geometry.js';
import { contentHash, decodeImageFile } from './decode.js';
import { preprocessImage } from './preprocess.js';
import { renderInput } from './resample.js';

let dir: string;
let file: string;

/** A black w x h RGB buffer with a Gaussian blob centred at continuous point p. */
function blob(w: number, h: number, p: Point, sigma: number): Buffer {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      buf.fill(
        Math.round(255 * Math.exp(-((x + 0.5 - p[0]) ** 2 + (y + 0.5 - p[1]) ** 2) / (2 * sigma * sigma))),
        (y * w + x) * 3,
        (y * w + x) * 3 + 3,
      );
  return buf;
}

/** Intensity centroid of channel 0 within `radius` of `near`. */
function centroid(data: Uint8Array, t: InputTransform, near: Point, radius: number): Point {
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = Math.max(0, Math.floor(near[1] - radius)); y < Math.min(t.height, near[1] + radius); y++)
    for (let x = Math.max(0, Math.floor(near[0] - radius)); x < Math.min(t.width, near[0] + radius); x++) {
      const v = data[(y * t.width + x) * 3]!;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      s += v;
    }
  return [sx / s, sy / s];
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ls-preprocess-'));
  file = path.join(dir, 'image.png');
  const w = 70;
  const h = 45;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 251;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('preprocessImage', () => {
  it('renders the decoded image through its input transform', async () => {
    const crop = { x: 5, y: 3, w: 40, h: 30 };
    const out = await preprocessImage({ path: file, crop }, { size: 32, mode: 'letterbox' });
    const t = makeInputTransform({ imageWidth: 70, imageHeight: 45, size: 32, mode: 'letterbox', crop });
    expect(out.transform).toEqual(t);
    expect([out.imageWidth, out.imageHeight]).toEqual([70, 45]);
    expect(Buffer.from(out.data).equals(Buffer.from(renderInput(await decodeImageFile(file), t)))).toBe(true);
  });

  it('reduces a whole image in libvips to within a grey level of the exact filter, the padding black', async () => {
    const t = makeInputTransform({ imageWidth: 70, imageHeight: 45, size: 32, mode: 'letterbox', crop: null });
    expect([t.padX, t.padY, t.contentHeight]).toEqual([0, 5, 21]); // letterboxed: rows of padding
    const out = await preprocessImage({ path: file }, { size: 32, mode: 'letterbox' });
    expect(out.transform).toEqual(t);
    const exact = renderInput(await decodeImageFile(file), t);
    let difference = 0;
    for (let i = 0; i < exact.length; i++) difference += Math.abs(out.data[i]! - exact[i]!);
    expect(difference / (t.contentWidth * t.contentHeight * 3)).toBeLessThan(1);
    const padding = [
      ...out.data.subarray(0, t.padY * t.width * 3),
      ...out.data.subarray((t.padY + t.contentHeight) * t.width * 3),
    ];
    expect(padding.length).toBeGreaterThan(0);
    expect(padding.every((v) => v === 0)).toBe(true);
  });

  it('keeps points exact when libvips shrinks large images while decoding (PNG, EXIF-rotated JPEG, crop)', async () => {
    const p: Point = [611.3, 207.8];
    const png = path.join(dir, 'large.png');
    await sharp(blob(900, 600, p, 10), { raw: { width: 900, height: 600, channels: 3 } })
      .png()
      .toFile(png);
    // Stored 600 wide and 900 high; orientation 6 turns it 90 degrees clockwise for display, so a
    // stored point (sx, sy) shows at (900 - sy, sx): store the blob at (207.8, 900 - 611.3).
    const jpg = path.join(dir, 'large-rotated.jpg');
    await sharp(blob(600, 900, [p[1], 900 - p[0]], 10), { raw: { width: 600, height: 900, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(jpg);
    const cases = [
      { file: png, size: 64, crop: null },
      { file: jpg, size: 64, crop: null },
      { file: png, size: 48, crop: { x: 500.5, y: 100, w: 300, h: 250 } },
    ];
    for (const c of cases) {
      const out = await preprocessImage({ path: c.file, crop: c.crop }, { size: c.size, mode: 'letterbox' });
      expect([out.imageWidth, out.imageHeight]).toEqual([900, 600]);
      expect(out.transform.scaleX).toBeLessThan(0.5); // the shrinking path
      const expected = toInputPoint(out.transform, p);
      const found = centroid(out.data, out.transform, expected, 5);
      expect(
        Math.hypot(found[0] - expected[0], found[1] - expected[1]),
        `${c.file} ${JSON.stringify(c.crop)}`,
      ).toBeLessThan(0.1);
    }
  });

  it('caches by content hash, size, mode and crop, atomically', async () => {
    const cacheDir = path.join(dir, 'cache');
    const copy = path.join(dir, 'copy.png');
    await fs.copyFile(file, copy);
    const first = await preprocessImage({ path: copy }, { size: 24, mode: 'stretch', cacheDir });
    const entries = await listFiles(cacheDir);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/\.bin$/);

    // With the hash known and the file gone, only the cache can answer.
    const hash = await contentHash(await fs.readFile(copy));
    await fs.rm(copy);
    const again = await preprocessImage({ path: copy, hash }, { size: 24, mode: 'stretch', cacheDir });
    expect(Buffer.from(again.data).equals(Buffer.from(first.data))).toBe(true);
    expect(again.transform).toEqual(first.transform);
    for (const other of [
      { size: 25, mode: 'stretch' as const },
      { size: 24, mode: 'letterbox' as const },
    ]) {
      await expect(preprocessImage({ path: copy, hash }, { ...other, cacheDir })).rejects.toThrow(
        /copy\.png.*file not found/,
      );
    }
    await expect(
      preprocessImage(
        { path: copy, hash, crop: { x: 0, y: 0, w: 10, h: 10 } },
        { size: 24, mode: 'stretch', cacheDir },
      ),
    ).rejects.toThrow(/file not found/);
    expect(await listFiles(cacheDir)).toHaveLength(1); // nothing half-written left behind
  });

  it('treats a damaged cache entry as missing and rewrites it', async () => {
    const cacheDir = path.join(dir, 'cache2');
    const good = await preprocessImage({ path: file }, { size: 16, mode: 'stretch', cacheDir });
    const [entry] = await listFiles(cacheDir);
    await fs.truncate(entry!, 40);
    const again = await preprocessImage({ path: file }, { size: 16, mode: 'stretch', cacheDir });
    expect(Buffer.from(again.data).equals(Buffer.from(good.data))).toBe(true);
    expect((await fs.stat(entry!)).size).toBeGreaterThan(16 * 16 * 3);
  });
});
