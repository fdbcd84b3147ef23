import { readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProjectStore } from '../store/projectStore.js';
import { gradient, testServices, workspace, writeBmp, writeJpeg } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
let t: ReturnType<typeof testServices>;
let ids: Record<string, number>;
beforeEach(async () => {
  ws = workspace();
  await writeJpeg(path.join(ws.imageRoot, 'plain.jpg'), 400, 300);
  await writeJpeg(path.join(ws.imageRoot, 'rotated.jpg'), 400, 300, 6);
  await gradient(50, 40).tiff().toFile(path.join(ws.imageRoot, 'scan.tif'));
  writeBmp(path.join(ws.imageRoot, 'bitmap.bmp'), 30, 20, [200, 100, 50]);
  await gradient(64, 48).png().toFile(path.join(ws.imageRoot, 'picture.png'));
  t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  ids = Object.fromEntries((await t.call('images.list', {})).items.map((i) => [i.relPath, i.id]));
});
afterEach(() => {
  t.services.close();
  ws.cleanup();
});

const inside = (dir: string, file: string) => !path.relative(dir, file).startsWith('..');

describe('imageRendition', () => {
  it('serves a browser-ready original as it is', async () => {
    expect(await t.services.imageRendition(ids['plain.jpg']!, 'full')).toEqual({
      path: path.join(ws.imageRoot, 'plain.jpg'),
      mime: 'image/jpeg',
    });
    expect(await t.services.imageRendition(ids['picture.png']!, 'full')).toEqual({
      path: path.join(ws.imageRoot, 'picture.png'),
      mime: 'image/png',
    });
  });

  it('makes thumbnails of at most 160 px, cached in the project', async () => {
    const thumb = await t.services.imageRendition(ids['plain.jpg']!, 'thumb');
    expect(thumb.mime).toBe('image/jpeg');
    expect(inside(path.join(ws.projectDir, 'cache', 'thumbs'), thumb.path)).toBe(true);
    expect(await sharp(thumb.path).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 120 });
    const small = await t.services.imageRendition(ids['bitmap.bmp']!, 'thumb');
    expect(await sharp(small.path).metadata()).toMatchObject({ width: 30, height: 20 });
    expect(await t.services.imageRendition(ids['plain.jpg']!, 'thumb')).toEqual(thumb);
  });

  it('applies EXIF orientation and converts TIFF and BMP with their pixels intact', async () => {
    const rotated = await t.services.imageRendition(ids['rotated.jpg']!, 'full');
    expect(inside(path.join(ws.projectDir, 'cache'), rotated.path)).toBe(true);
    const meta = await sharp(rotated.path).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([300, 400, 1]);

    const tif = await t.services.imageRendition(ids['scan.tif']!, 'full');
    expect(tif.mime).toBe('image/png');
    const original = await sharp(path.join(ws.imageRoot, 'scan.tif')).raw().toBuffer();
    expect(Buffer.compare(await sharp(tif.path).raw().toBuffer(), original)).toBe(0);

    const bmp = await t.services.imageRendition(ids['bitmap.bmp']!, 'full');
    const { data, info } = await sharp(bmp.path).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([30, 20, 3]);
    expect([...data.subarray(0, 3)]).toEqual([200, 100, 50]);
  });

  it('cuts instance crops out of the oriented image', async () => {
    const store = ProjectStore.open(ws.projectDir);
    const crop = store.images.ensureCropItem(ids['plain.jpg']!, 'plain.jpg', { x: 100, y: 50, w: 40, h: 30 }).id;
    store.close();
    const full = await t.services.imageRendition(crop, 'full');
    const { data, info } = await sharp(full.path).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([40, 30]);
    // The gradient's red grows with x and green with y: the crop's first pixel is the file's (100, 50).
    const whole = await sharp(path.join(ws.imageRoot, 'plain.jpg'))
      .extract({ left: 100, top: 50, width: 1, height: 1 })
      .raw()
      .toBuffer();
    expect(Math.abs(data[0]! - whole[0]!)).toBeLessThanOrEqual(3);
    expect(Math.abs(data[1]! - whole[1]!)).toBeLessThanOrEqual(3);
  });

  it('never returns a file outside the image root: ../ paths and symlinks are refused', async () => {
    const secret = path.join(ws.dir, 'secret.jpg');
    await writeJpeg(secret);
    const db = new Database(path.join(ws.projectDir, 'project.sqlite'));
    db.prepare("UPDATE images SET rel_path = '../secret.jpg' WHERE id = ?").run(ids['picture.png']);
    db.close();
    await expect(t.services.imageRendition(ids['picture.png']!, 'full')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/outside the image folder/),
    });
    await expect(t.services.imageRendition(ids['picture.png']!, 'thumb')).rejects.toMatchObject({ code: 'not_found' });

    // A file swapped for a link pointing out of the folder after the scan.
    renameSync(path.join(ws.imageRoot, 'plain.jpg'), path.join(ws.dir, 'moved.jpg'));
    symlinkSync(secret, path.join(ws.imageRoot, 'plain.jpg'));
    await expect(t.services.imageRendition(ids['plain.jpg']!, 'full')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/outside the image folder/),
    });
  });

  it('refuses unknown ids and images with problems; records pixels that do not decode as a problem', async () => {
    await expect(t.services.imageRendition(4242, 'full')).rejects.toMatchObject({ code: 'not_found' });
    await expect(t.services.imageRendition(0, 'full')).rejects.toMatchObject({ code: 'invalid' });
    // Header and IEND intact, compressed pixel data destroyed: the scan cannot tell, decoding can.
    const png = readFileSync(path.join(ws.imageRoot, 'picture.png'));
    const idat = png.indexOf('IDAT');
    writeFileSync(
      path.join(ws.imageRoot, 'picture.png'),
      Buffer.concat([
        png.subarray(0, idat + 4),
        Buffer.alloc(png.length - idat - 16, 0x55),
        png.subarray(png.length - 12),
      ]),
    );
    await expect(t.services.imageRendition(ids['picture.png']!, 'thumb')).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/cannot be shown/),
    });
    const problems = await t.call('images.problems', {});
    expect(problems).toEqual([{ relPath: 'picture.png', reason: expect.stringMatching(/unreadable image data/) }]);
    await expect(t.services.imageRendition(ids['picture.png']!, 'full')).rejects.toMatchObject({ code: 'invalid' });
  });
});
