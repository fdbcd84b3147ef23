import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnnotationValue } from './annotations.js';
import { ProjectStore } from './projectStore.js';

let dir: string;
let store: ProjectStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-images-'));
  store = ProjectStore.create(dir, { name: 'p', imageRoot: dir });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const point: AnnotationValue = { x: 1, y: 1, visibility: 'visible', source: 'human', updatedAt: 't', predicted: null };
const file = (relPath: string) => ({ relPath, hash: null, width: 10, height: 10, orientation: 1, problem: null });

describe('images store', () => {
  it('keeps each item’s labeled count equal to its annotations through upserts, deletes and cascades', () => {
    store.images.insertScanned([file('a.jpg'), file('b.jpg')]);
    const [a, b] = [store.images.getByPath('a.jpg')!.id, store.images.getByPath('b.jpg')!.id];
    const crop = store.images.ensureCropItem(a, 'a.jpg', { x: 1, y: 1, w: 5, h: 5 }).id;
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((n) => store.keypoints.add(n, '#000000')) as [number, number, number];
    const actual = () =>
      Object.fromEntries(
        [a, b, crop].map((id) => [
          id,
          (store.db.prepare('SELECT count(*) AS n FROM annotations WHERE image_id = ?').get(id) as { n: number }).n,
        ]),
      );
    const stored = () => Object.fromEntries([a, b, crop].map((id) => [id, store.images.get(id)!.labeledCount]));

    for (const k of [k1, k2, k3]) store.annotations.put(a, k, point);
    store.annotations.put(a, k1, { ...point, x: 2 }); // an update, not a new label
    store.annotations.put(b, k2, point);
    store.annotations.put(crop, k3, point);
    expect(stored()).toEqual({ [a]: 3, [b]: 1, [crop]: 1 });
    store.annotations.put(a, k2, null);
    store.keypoints.delete(k3); // cascades to annotations on a and crop
    expect(stored()).toEqual(actual());
    expect(stored()).toEqual({ [a]: 1, [b]: 1, [crop]: 0 });
    expect(store.images.list('labeled', 0, 10).items.map((i) => i.id)).toEqual([a, b]);
    expect(store.images.list('unlabeled', 0, 10).items.map((i) => i.id)).toEqual([crop]);
    expect(store.images.counts()).toEqual({
      images: 3,
      labeledImages: 2,
      problems: 0,
      inSplits: 0,
      labeledTrain: 2,
      labeledTest: 0,
    });
  });

  it('pages in path order and counts the whole filter', () => {
    store.images.insertScanned(['d.jpg', 'b.jpg', 'a/z.jpg', 'c.jpg'].map(file));
    expect(store.images.list('all', 1, 2)).toMatchObject({
      total: 4,
      items: [{ relPath: 'b.jpg' }, { relPath: 'c.jpg' }],
    });
    // Inserting a path again leaves the known item alone.
    expect(store.images.insertScanned([file('c.jpg'), file('e.jpg')])).toBe(1);
  });
});
