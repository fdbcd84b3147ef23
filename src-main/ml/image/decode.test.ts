import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFile, ImageDecodeError } from './decode.js';

let dir: string;

/** A w x h RGB image: red square in the top-left 4 x 4 corner, mid grey elsewhere. */
function markedRgb(w: number, h: number): Buffer {
  const buf = Buffer.alloc(w * h * 3, 128);
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 4; x++) {
      const o = (y * w + x) * 3;
      buf[o] = 255;
      buf[o + 1] = 0;
      buf[o + 2] = 0;
    }
  return buf;
}

const raw = (buf: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4) =>
  sharp(buf, { raw: { width, height, channels } });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ls-decode-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('decodeImageFile', () => {
  it('applies the EXIF orientation (6 = rotate 90 degrees clockwise)', async () => {
    const file = path.join(dir, 'rotated.jpg');
    await raw(markedRgb(40, 20), 40, 20, 3).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const img = await decodeImageFile(file);
    expect([img.width, img.height]).toEqual([20, 40]);
    // the red top-left corner of the stored pixels is now the top-right corner
    const px = (x: number, y: number) =>
      Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    expect(px(18, 1)[0]).toBeGreaterThan(200);
    expect(px(18, 1)[1]).toBeLessThan(60);
    expect(px(1, 1)[0]).toBeLessThan(160);
  });

  it('expands grayscale to three equal channels', async () => {
    const file = path.join(dir, 'gray.png');
    await raw(Buffer.from([0, 60, 120, 250]), 2, 2, 1)
      .toColourspace('b-w')
      .png()
      .toFile(file);
    expect((await sharp(file).metadata()).channels).toBe(1);
    const img = await decodeImageFile(file);
    expect(Array.from(img.data)).toEqual([0, 0, 0, 60, 60, 60, 120, 120, 120, 250, 250, 250]);
  });

  it('composites alpha on black', async () => {
    const file = path.join(dir, 'alpha.png');
    // white at alpha 255, 128, 0 and red at alpha 255
    await raw(Buffer.from([255, 255, 255, 255, 255, 255, 255, 128, 255, 255, 255, 0, 255, 0, 0, 255]), 4, 1, 4)
      .png()
      .toFile(file);
    const img = await decodeImageFile(file);
    const d = Array.from(img.data);
    expect(d.slice(0, 3)).toEqual([255, 255, 255]);
    for (const v of d.slice(3, 6)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(1);
    expect(d.slice(6, 9)).toEqual([0, 0, 0]);
    expect(d.slice(9, 12)).toEqual([255, 0, 0]);
  });

  it('reduces 16-bit images to 8-bit values', async () => {
    const file = path.join(dir, 'deep.png');
    await raw(Buffer.from([0, 128, 255, 17, 200, 3]), 2, 1, 3)
      .toColourspace('rgb16')
      .png()
      .toFile(file);
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const img = await decodeImageFile(file);
    expect(Array.from(img.data)).toEqual([0, 128, 255, 17, 200, 3]);
  });

  it('converts CMYK to sRGB', async () => {
    const file = path.join(dir, 'cmyk.jpg');
    const red = Buffer.alloc(8 * 8 * 3);
    for (let i = 0; i < 64; i++) red[i * 3] = 255;
    await raw(red, 8, 8, 3).toColourspace('cmyk').jpeg().toFile(file);
    expect((await sharp(file).metadata()).space).toBe('cmyk');
    const img = await decodeImageFile(file);
    expect(img.data.length).toBe(8 * 8 * 3);
    const [r, g, b] = Array.from(img.data.subarray(0, 3));
    expect(r).toBeGreaterThan(180);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(80);
  });

  it('names the file and the problem for broken files', async () => {
    const empty = path.join(dir, 'empty.jpg');
    await fs.writeFile(empty, '');
    const text = path.join(dir, 'notes.png');
    await fs.writeFile(text, 'this is not an image at all');
    const truncated = path.join(dir, 'truncated.jpg');
    const full = await raw(markedRgb(64, 64), 64, 64, 3).jpeg().toBuffer();
    await fs.writeFile(truncated, full.subarray(0, Math.floor(full.length / 2)));
    const truncatedPng = path.join(dir, 'truncated.png');
    const fullPng = await raw(markedRgb(64, 64), 64, 64, 3).png().toBuffer();
    await fs.writeFile(truncatedPng, fullPng.subarray(0, Math.floor(fullPng.length / 2)));
    const cases: [string, RegExp][] = [
      [empty, /empty \(0 bytes\)/],
      [text, /not an image/],
      [truncated, /.+/],
      [truncatedPng, /.+/],
      [path.join(dir, 'missing.png'), /file not found/],
      [dir, /is a directory/],
    ];
    for (const [file, reason] of cases) {
      const err = await decodeImageFile(file).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, file).toBeInstanceOf(ImageDecodeError);
      expect((err as ImageDecodeError).message).toContain(`"${file}"`);
      expect((err as ImageDecodeError).reason).toMatch(reason);
      expect((err as ImageDecodeError).path).toBe(file);
    }
  });
});
