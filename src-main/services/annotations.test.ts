import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProjectStore } from '../store/projectStore.js';
import { databaseSnapshot, labelingProject, testServices, workspace } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
let p: Awaited<ReturnType<typeof labelingProject>>;
let img: [number, number, number];
let kp: [number, number, number];
beforeEach(async () => {
  ws = workspace();
  p = await labelingProject(ws, 3, ['nose', 'left_eye', 'right_eye']);
  img = p.images.map((i) => i.id) as typeof img;
  kp = p.keypoints.map((k) => k.id) as typeof kp;
});
afterEach(() => {
  p.services.close();
  ws.cleanup();
});

describe('annotations', () => {
  it('sets points inside the image (edges included) and lists them in keypoint order', async () => {
    const a = await p.call('annotations.set', { imageId: img[0], keypointId: kp[2], x: 64, y: 48 });
    expect(a).toMatchObject({
      imageId: img[0],
      keypointId: kp[2],
      x: 64,
      y: 48,
      visibility: 'visible',
      source: 'human',
    });
    expect(Date.parse(a.updatedAt)).not.toBeNaN();
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 0, y: 0.5 });
    expect((await p.call('annotations.list', { imageId: img[0] })).map((x) => x.keypointId)).toEqual([kp[0], kp[2]]);
    const listed = (await p.call('images.list', { filter: 'labeled' })).items;
    expect(listed.map((i) => [i.id, i.labeledCount])).toEqual([[img[0], 2]]);
    expect((await p.call('images.list', { filter: 'unlabeled' })).total).toBe(2);
    expect((await p.call('project.info', {})).counts).toMatchObject({ annotations: 2, labeledImages: 1 });
  });

  it('rejects bad payloads with clear messages and leaves the database unchanged', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 10, y: 10 });
    const before = databaseSnapshot(ws.projectDir);
    const bad: [unknown, string | RegExp][] = [
      [{ imageId: img[0], keypointId: kp[0], x: NaN, y: 1 }, /x/],
      [{ imageId: img[0], keypointId: kp[0], x: Infinity, y: 1 }, /x/],
      [{ imageId: img[0], keypointId: kp[0], x: '10', y: 1 }, /x/],
      [{ imageId: img[0], keypointId: kp[0], x: -1, y: 1 }, /x/],
      [{ imageId: img[0], keypointId: kp[0], x: 1 }, /y/],
      [{ imageId: 1.5, keypointId: kp[0], x: 1, y: 1 }, /imageId/],
      [{ imageId: img[0], keypointId: kp[0], x: 1, y: 1, visibility: 'hidden' }, /visibility/],
      [{ imageId: img[0], keypointId: kp[0], x: 1, y: 1, note: 'x'.repeat(1_000_000) }, /note/],
      [{ imageId: img[0], keypointId: kp[0], x: 64.01, y: 10 }, /outside image .* 0\.\.64 x 0\.\.48/],
      [{ imageId: img[0], keypointId: kp[0], x: 10, y: 1000 }, /outside image/],
      [{ imageId: 9999, keypointId: kp[0], x: 1, y: 1 }, /No image with id 9999/],
      [{ imageId: img[0], keypointId: 9999, x: 1, y: 1 }, /No keypoint with id 9999/],
    ];
    for (const [payload, message] of bad) {
      await expect(p.callRaw('annotations.set', payload), JSON.stringify(payload).slice(0, 80)).rejects.toMatchObject({
        code: expect.stringMatching(/invalid|not_found/),
        message: expect.stringMatching(message),
      });
    }
    await expect(p.callRaw('annotations.set', null)).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.callRaw('annotations.nope', {})).rejects.toMatchObject({
      code: 'invalid',
      message: /Unknown API method/,
    });
    await expect(
      p.callRaw('annotations.setVisibility', { imageId: img[0], keypointId: kp[0], visibility: 'gone' }),
    ).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.callRaw('annotations.copyFrom', { imageId: img[0], fromImageId: img[0] })).rejects.toMatchObject({
      code: 'invalid',
    });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
  });

  it('refuses points on an image with a problem', async () => {
    const store = ProjectStore.open(ws.projectDir);
    store.images.insertScanned([
      { relPath: 'broken.jpg', hash: null, width: 0, height: 0, orientation: 1, problem: 'empty file (0 bytes)' },
    ]);
    const broken = store.images.getByPath('broken.jpg')!.id;
    store.close();
    await expect(p.call('annotations.set', { imageId: broken, keypointId: kp[0], x: 0, y: 0 })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/cannot be labeled: empty file/),
    });
  });

  it('keeps coordinates when a point becomes occluded or absent, and can mark an unplaced point absent', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 12, y: 13 });
    expect(
      await p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[0], visibility: 'occluded' }),
    ).toMatchObject({ x: 12, y: 13, visibility: 'occluded' });
    await p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[0], visibility: 'absent' });
    expect(
      await p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[0], visibility: 'visible' }),
    ).toMatchObject({ x: 12, y: 13, visibility: 'visible' });
    expect(
      await p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[1], visibility: 'absent' }),
    ).toMatchObject({ x: 0, y: 0, visibility: 'absent' });
    await expect(
      p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[2], visibility: 'occluded' }),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/place it first/),
    });
  });

  it('marks human edits of model points as corrections', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 12, y: 13 });
    const db = new Database(path.join(ws.projectDir, 'project.sqlite'));
    db.prepare("UPDATE annotations SET source = 'accepted'").run();
    db.close();
    expect((await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 14, y: 13 })).source).toBe(
      'corrected',
    );
    expect((await p.call('annotations.set', { imageId: img[1], keypointId: kp[0], x: 14, y: 13 })).source).toBe(
      'human',
    );
  });

  it('deletes a point and says whether there was one', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 12, y: 13 });
    expect(await p.call('annotations.delete', { imageId: img[0], keypointId: kp[0] })).toEqual({ deleted: true });
    expect(await p.call('annotations.delete', { imageId: img[0], keypointId: kp[0] })).toEqual({ deleted: false });
    expect(await p.call('annotations.list', { imageId: img[0] })).toEqual([]);
  });

  it('copies the points of another image as one undo step, overwriting only the keypoints copied', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 10, y: 11 });
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[1], x: 20, y: 21, visibility: 'occluded' });
    await p.call('annotations.set', { imageId: img[1], keypointId: kp[1], x: 1, y: 1 });
    await p.call('annotations.set', { imageId: img[1], keypointId: kp[2], x: 2, y: 2 });
    const copied = await p.call('annotations.copyFrom', { imageId: img[1], fromImageId: img[0] });
    expect(copied.map((a) => [a.keypointId, a.x, a.y, a.visibility])).toEqual([
      [kp[0], 10, 11, 'visible'],
      [kp[1], 20, 21, 'occluded'],
      [kp[2], 2, 2, 'visible'],
    ]);
    const undone = await p.call('history.undo', {});
    expect(undone?.imageId).toBe(img[1]);
    expect(undone?.annotations.map((a) => [a.keypointId, a.x, a.y])).toEqual([
      [kp[1], 1, 1],
      [kp[2], 2, 2],
    ]);
  });

  it('places copied points at the same place relative to an instance crop, clamped into it', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 5, y: 6 });
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[1], x: 60, y: 40 });
    const store = ProjectStore.open(ws.projectDir);
    const crop = store.images.ensureCropItem(img[1], 'img1.jpg', { x: 20, y: 10, w: 30, h: 20 }).id;
    store.close();
    const copied = await p.call('annotations.copyFrom', { imageId: crop, fromImageId: img[0] });
    expect(copied.map((a) => [a.x, a.y])).toEqual([
      [25, 16],
      [50, 30],
    ]);
    await expect(p.call('annotations.set', { imageId: crop, keypointId: kp[2], x: 19, y: 15 })).rejects.toMatchObject({
      message: expect.stringMatching(/crop box x 20\.\.50, y 10\.\.30/),
    });
  });
});

describe('history', () => {
  it('undoes and redoes globally across images, naming the image each step changed', async () => {
    expect(await p.call('history.undo', {})).toBeNull();
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 1, y: 1 });
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 2, y: 2 });
    await p.call('annotations.set', { imageId: img[1], keypointId: kp[0], x: 3, y: 3 });

    let step = await p.call('history.undo', {});
    expect(step).toEqual({ imageId: img[1], annotations: [] });
    step = await p.call('history.undo', {});
    expect(step?.imageId).toBe(img[0]);
    expect(step?.annotations.map((a) => [a.x, a.y])).toEqual([[1, 1]]);
    step = await p.call('history.redo', {});
    expect(step?.annotations.map((a) => [a.x, a.y])).toEqual([[2, 2]]);
    step = await p.call('history.redo', {});
    expect(step?.imageId).toBe(img[1]);
    expect(await p.call('history.redo', {})).toBeNull();
  });

  it('drops the redo tail when a new change follows an undo', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 1, y: 1 });
    await p.call('annotations.set', { imageId: img[1], keypointId: kp[0], x: 2, y: 2 });
    await p.call('history.undo', {});
    await p.call('annotations.set', { imageId: img[2], keypointId: kp[0], x: 3, y: 3 });
    expect(await p.call('history.redo', {})).toBeNull();
    expect((await p.call('history.undo', {}))?.imageId).toBe(img[2]);
    expect((await p.call('history.undo', {}))?.imageId).toBe(img[0]);
    expect(await p.call('history.undo', {})).toBeNull();
    // The dropped step stays in the table for the audit trail.
    const db = new Database(path.join(ws.projectDir, 'project.sqlite'), { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM annotation_history WHERE state = 'discarded'").get()).toEqual({
      n: 1,
    });
    db.close();
  });

  it('undoes deletes and visibility changes, and survives reopening the project', async () => {
    await p.call('annotations.set', { imageId: img[0], keypointId: kp[0], x: 7, y: 8 });
    await p.call('annotations.setVisibility', { imageId: img[0], keypointId: kp[0], visibility: 'occluded' });
    await p.call('annotations.delete', { imageId: img[0], keypointId: kp[0] });
    p.services.close();
    const again = testServices({ projectDir: ws.projectDir });
    expect((await again.call('history.undo', {}))?.annotations).toMatchObject([{ x: 7, y: 8, visibility: 'occluded' }]);
    expect((await again.call('history.undo', {}))?.annotations).toMatchObject([{ x: 7, y: 8, visibility: 'visible' }]);
    expect((await again.call('history.undo', {}))?.annotations).toEqual([]);
    again.services.close();
  });
});
