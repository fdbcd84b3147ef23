import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testServices, workspace, writeJpeg } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

describe('project.relink', () => {
  it('finds a moved folder by relative path, renamed files by hash, and keeps labels of missing ones', async () => {
    await writeJpeg(path.join(ws.imageRoot, 'a', 'one.jpg'), 64, 48);
    await writeJpeg(path.join(ws.imageRoot, 'a', 'two.jpg'), 65, 48);
    await writeJpeg(path.join(ws.imageRoot, 'three.jpg'), 66, 48);
    const { services, call } = testServices();
    await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    const kp = (await call('keypoints.add', { name: 'nose' })).keypoints[0]!.id;
    const id = Object.fromEntries((await call('images.list', {})).items.map((i) => [i.relPath, i.id]));
    for (const relPath of ['a/one.jpg', 'a/two.jpg', 'three.jpg'])
      await call('annotations.set', { imageId: id[relPath]!, keypointId: kp, x: 5, y: 5 });

    // The folder moves; inside it one file is renamed, one deleted, one added.
    const moved = path.join(ws.dir, 'moved-images');
    renameSync(ws.imageRoot, moved);
    renameSync(path.join(moved, 'a', 'two.jpg'), path.join(moved, 'renamed.jpg'));
    rmSync(path.join(moved, 'three.jpg'));
    await writeJpeg(path.join(moved, 'new.jpg'), 67, 48);

    expect(await call('project.relink', { imageRoot: moved })).toEqual({
      relinked: 2,
      missing: ['three.jpg'],
      added: 1,
    });
    expect((await call('project.info', {})).imageRoot).toBe(moved);
    const items = (await call('images.list', {})).items;
    expect(items.map((i) => [i.relPath, i.labeledCount, i.problem === null])).toEqual([
      ['a/one.jpg', 1, true],
      ['new.jpg', 0, true],
      ['renamed.jpg', 1, true],
      ['three.jpg', 1, false],
    ]);
    // The renamed file keeps its id (and so its labels and history).
    expect(items.find((i) => i.relPath === 'renamed.jpg')!.id).toBe(id['a/two.jpg']);
    expect((await services.imageRendition(id['a/two.jpg']!, 'full')).path).toBe(path.join(moved, 'renamed.jpg'));
    expect((await call('images.problems', {}))[0]).toEqual({
      relPath: 'three.jpg',
      reason: expect.stringMatching(/^missing/),
    });

    // Once the file is back, relinking again clears the problem.
    await writeJpeg(path.join(moved, 'three.jpg'), 66, 48);
    expect(await call('project.relink', { imageRoot: moved })).toEqual({ relinked: 4, missing: [], added: 0 });
    expect(await call('images.problems', {})).toEqual([]);
    services.close();
  });

  it('refuses a folder that does not exist, changing nothing', async () => {
    await writeJpeg(path.join(ws.imageRoot, 'one.jpg'));
    const { services, call } = testServices();
    await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    await expect(call('project.relink', { imageRoot: path.join(ws.dir, 'gone') })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await call('project.info', {})).imageRoot).toBe(ws.imageRoot);
    services.close();
  });
});
