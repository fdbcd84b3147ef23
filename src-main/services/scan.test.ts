import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src-shared/domain.js';
import { readImageHeader } from './imageHeader.js';
import { gradient, testServices, workspace, writeBmp, writeJpeg, writePng } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

describe('readImageHeader', () => {
  it('agrees with sharp on size and EXIF orientation for JPEG and PNG', async () => {
    for (const orientation of [1, 3, 6, 8]) {
      const bytes = await gradient(40, 30).jpeg().withMetadata({ orientation }).toBuffer();
      const meta = await sharp(bytes).metadata();
      expect(readImageHeader(bytes)).toEqual({
        format: 'jpeg',
        width: meta.width,
        height: meta.height,
        orientation: meta.orientation ?? 1,
        complete: true,
      });
    }
    const png = await gradient(33, 17).png().toBuffer();
    expect(readImageHeader(png)).toMatchObject({ format: 'png', width: 33, height: 17, complete: true });
  });

  it('reads big-endian EXIF too', () => {
    // SOI, APP1 "Exif" with a Motorola-order TIFF header holding Orientation = 6, SOF0 30x40, SOS, data, EOI.
    const tiff = Buffer.from([
      0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const app1 = Buffer.concat([
      Buffer.from([0xff, 0xe1, 0, 2 + 6 + tiff.length]),
      Buffer.from('Exif\0\0', 'latin1'),
      tiff,
    ]);
    const sof = Buffer.from([0xff, 0xc0, 0, 11, 8, 0, 40, 0, 30, 1, 1, 0x11, 0]);
    const sos = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
    const jpeg = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      app1,
      sof,
      sos,
      Buffer.from([1, 2, 0xff, 0, 3]),
      Buffer.from([0xff, 0xd9]),
    ]);
    expect(readImageHeader(jpeg)).toEqual({ format: 'jpeg', width: 30, height: 40, orientation: 6, complete: true });
    expect(readImageHeader(jpeg.subarray(0, jpeg.length - 2))?.complete).toBe(false);
  });
});

describe('project.create scan', () => {
  it('finds images recursively by extension (any case), with sizes after EXIF orientation and content hashes', async () => {
    const a = await writeJpeg(path.join(ws.imageRoot, 'a.jpg'), 64, 48);
    await writePng(path.join(ws.imageRoot, 'sub', 'deeper', 'B.PNG'), 20, 10);
    await writeJpeg(path.join(ws.imageRoot, 'rotated.JPEG'), 64, 48, 6);
    await gradient(30, 20).webp().toFile(path.join(ws.imageRoot, 'w.webp'));
    await gradient(31, 21).tiff().toFile(path.join(ws.imageRoot, 't.tif'));
    await gradient(12, 9).toColourspace('cmyk').jpeg().toFile(path.join(ws.imageRoot, 'cmyk.jpg'));
    await gradient(13, 7).toColourspace('rgb16').png().toFile(path.join(ws.imageRoot, 'sixteen.png'));
    writeBmp(path.join(ws.imageRoot, 'bitmap.bmp'), 17, 5, [200, 10, 10]);
    writeFileSync(path.join(ws.imageRoot, 'notes.txt'), 'not an image');
    mkdirSync(path.join(ws.imageRoot, '.hidden'));
    await writeJpeg(path.join(ws.imageRoot, '.hidden', 'skip.jpg'));

    const events: ProgressEvent[] = [];
    const { services, call } = testServices({ onProgress: (e) => events.push(e) });
    const info = await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    expect(info.counts).toMatchObject({ images: 8, problems: 0, annotations: 0, keypoints: 0 });
    const { items } = await call('images.list', {});
    const size = Object.fromEntries(items.map((i) => [i.relPath, [i.width, i.height]]));
    expect(size).toEqual({
      'a.jpg': [64, 48],
      'bitmap.bmp': [17, 5],
      'cmyk.jpg': [12, 9],
      'rotated.JPEG': [48, 64],
      'sixteen.png': [13, 7],
      'sub/deeper/B.PNG': [20, 10],
      't.tif': [31, 21],
      'w.webp': [30, 20],
    });
    const rotated = await call('images.get', { imageId: items.find((i) => i.relPath === 'rotated.JPEG')!.id });
    expect(rotated.image.orientation).toBe(6);
    const first = await call('images.get', { imageId: items.find((i) => i.relPath === 'a.jpg')!.id });
    expect(first.image.hash).toBe(createHash('sha1').update(a).digest('hex'));
    expect(events.at(-1)).toMatchObject({ task: 'scan', done: 8, total: 8 });
    services.close();
  });

  it('lists unreadable files with a reason and keeps scanning', async () => {
    await writeJpeg(path.join(ws.imageRoot, 'good.jpg'), 300, 200);
    const jpeg = await gradient(300, 200).jpeg().toBuffer();
    const png = await gradient(300, 200).png().toBuffer();
    const tif = await gradient(300, 200).tiff().toBuffer();
    const bmp = writeBmp(path.join(ws.imageRoot, 'ok.bmp'), 40, 40, [1, 2, 3]);
    writeFileSync(path.join(ws.imageRoot, 'zero.jpg'), '');
    writeFileSync(path.join(ws.imageRoot, 'cut.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    writeFileSync(path.join(ws.imageRoot, 'cut.png'), png.subarray(0, png.length >> 1));
    writeFileSync(path.join(ws.imageRoot, 'cut.tiff'), tif.subarray(0, tif.length >> 1));
    writeFileSync(path.join(ws.imageRoot, 'cut.bmp'), bmp.subarray(0, bmp.length >> 1));
    writeFileSync(path.join(ws.imageRoot, 'text.jpg'), 'hello, I am text');
    await gradient(8, 8).gif().toFile(path.join(ws.imageRoot, 'really-a-gif.png'));

    const { services, call } = testServices();
    const info = await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    expect(info.counts).toMatchObject({ images: 9, problems: 7 });
    const reasons = Object.fromEntries((await call('images.problems', {})).map((p) => [p.relPath, p.reason]));
    expect(reasons).toEqual({
      'zero.jpg': expect.stringMatching(/empty file/),
      'cut.jpg': expect.stringMatching(/truncated JPEG/),
      'cut.png': expect.stringMatching(/truncated PNG/),
      // libvips writes the TIFF directory after the pixels: cut, the file has no directory at all.
      'cut.tiff': expect.stringMatching(/truncated TIFF|not an image/),
      'cut.bmp': expect.stringMatching(/truncated BMP/),
      'text.jpg': expect.stringMatching(/not an image/),
      'really-a-gif.png': expect.stringMatching(/unsupported format 'gif'/),
    });
    const usable = await call('images.list', { filter: 'unlabeled' });
    expect(usable.items.map((i) => i.relPath)).toEqual(['good.jpg', 'ok.bmp']);
    expect((await call('images.list', { filter: 'problems' })).total).toBe(7);
    services.close();
  });

  it('reports duplicate files, skips symlinks and its own project folder inside the image root', async () => {
    const bytes = await writeJpeg(path.join(ws.imageRoot, 'one.jpg'));
    writeFileSync(path.join(ws.imageRoot, 'two.jpg'), bytes);
    writeFileSync(path.join(ws.imageRoot, 'three.jpg'), bytes);
    const outside = path.join(ws.dir, 'outside.jpg');
    await writeJpeg(outside);
    symlinkSync(outside, path.join(ws.imageRoot, 'link.jpg'));
    const projectDir = path.join(ws.imageRoot, 'my-project');
    mkdirSync(path.join(projectDir, 'cache'), { recursive: true });
    await writeJpeg(path.join(projectDir, 'cache', 'thumb.jpg'));

    const { services, call } = testServices();
    await call('project.create', { projectDir, imageRoot: ws.imageRoot });
    expect(await call('images.problems', {})).toEqual([
      { relPath: 'link.jpg', reason: expect.stringMatching(/symbolic link/) },
      { relPath: 'three.jpg', reason: 'duplicate of one.jpg (same content)' },
      { relPath: 'two.jpg', reason: 'duplicate of one.jpg (same content)' },
    ]);
    const paths = (await call('images.list', {})).items.map((i) => i.relPath);
    expect(paths).toEqual(['link.jpg', 'one.jpg', 'three.jpg', 'two.jpg']);
    services.close();
  });

  it('refuses a missing image folder and an existing project, creating nothing', async () => {
    const { services, call } = testServices();
    await expect(
      call('project.create', { projectDir: ws.projectDir, imageRoot: path.join(ws.dir, 'nope') }),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/does not exist/),
    });
    await expect(call('project.info', {})).rejects.toMatchObject({ code: 'no_project' });
    await writeJpeg(path.join(ws.imageRoot, 'a.jpg'));
    await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    await call('keypoints.add', { name: 'nose' });
    const before = readFileSync(path.join(ws.projectDir, 'project.sqlite')).length;
    await expect(call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot })).rejects.toMatchObject({
      code: 'conflict',
    });
    // The open project is untouched and still answers.
    expect((await call('schema.get', {})).keypoints.map((k) => k.name)).toEqual(['nose']);
    expect(readFileSync(path.join(ws.projectDir, 'project.sqlite')).length).toBe(before);
    services.close();
  });

  it('reopens a project with its data from another services instance', async () => {
    await writeJpeg(path.join(ws.imageRoot, 'a.jpg'));
    const first = testServices();
    await first.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot, name: 'Mice' });
    await first.call('keypoints.add', { name: 'nose' });
    first.services.close();
    const second = testServices({ projectDir: ws.projectDir });
    expect(second.services.currentProjectDir()).toBe(ws.projectDir);
    expect(await second.call('project.info', {})).toMatchObject({
      name: 'Mice',
      imageRoot: ws.imageRoot,
      counts: { images: 1, keypoints: 1 },
    });
    await expect(second.call('project.open', { projectDir: ws.dir })).rejects.toMatchObject({ code: 'not_found' });
    const damaged = path.join(ws.dir, 'damaged');
    mkdirSync(damaged);
    writeFileSync(path.join(damaged, 'project.sqlite'), 'this is not a database, just text '.repeat(200));
    await expect(second.call('project.open', { projectDir: damaged })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/Cannot open the project .*not a database/),
    });
    // A failed open leaves the open project as it was.
    expect(second.services.currentProjectDir()).toBe(ws.projectDir);
    second.services.close();
  });
});
