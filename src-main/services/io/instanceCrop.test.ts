import { describe, expect, it } from 'vitest';
import { boxFromCrop, clampCrop, instanceCrop, INSTANCE_CROP, itemsFromInstances } from './instanceCrop.js';
import type { Instance } from './instanceCrop.js';
import type { LabeledPoint } from './labelSet.js';

const at = (x: number, y: number): LabeledPoint => ({ x, y, visibility: 'visible' });

describe('instanceCrop', () => {
  it('expands a box by the margin on each side and rounds to whole pixels', () => {
    // 100x40 box at (200, 100): margin 0.125 -> 12.5 px left/right, 5 px top/bottom.
    expect(instanceCrop({ x: 200, y: 100, w: 100, h: 40 }, [at(250, 120)], null)).toEqual({
      x: 188,
      y: 95,
      w: 125,
      h: 50,
    });
  });

  it('grows to hold labeled points outside the box, ignoring absent ones', () => {
    const points = [at(250, 120), at(330.2, 90.5), { x: 0, y: 0, visibility: 'absent' as const }, null];
    expect(instanceCrop({ x: 200, y: 100, w: 100, h: 40 }, points, null)).toEqual({ x: 188, y: 90, w: 143, h: 55 });
  });

  it('clamps to the image (at 0 only when the size is unknown)', () => {
    const box = { x: 5, y: 2, w: 80, h: 60 };
    expect(instanceCrop(box, [], null)).toEqual({ x: 0, y: 0, w: 95, h: 70 });
    expect(instanceCrop(box, [], { width: 90, height: 64 })).toEqual({ x: 0, y: 0, w: 90, h: 64 });
    expect(instanceCrop({ x: 500, y: 500, w: 10, h: 10 }, [], { width: 100, height: 100 })).toBeNull();
  });

  it('cuts from the points when there is no box, at least minPointBoxSide wide', () => {
    const side = INSTANCE_CROP.minPointBoxSide * (1 + 2 * INSTANCE_CROP.margin);
    expect(instanceCrop(null, [at(100, 100)], null)).toEqual({
      x: 100 - side / 2,
      y: 100 - side / 2,
      w: side,
      h: side,
    });
    // Extent 200x10 grows to 200x32 (y 39..71); the margin takes it to x -15..235, y 35..75; clamped at 0.
    expect(instanceCrop(null, [at(10, 50), at(210, 60)], null)).toEqual({ x: 0, y: 35, w: 235, h: 40 });
    expect(instanceCrop(null, [null], null)).toBeNull();
    expect(instanceCrop({ x: 1, y: 1, w: 0, h: 5 }, [], null)).toBeNull();
  });

  it('gives back the same crop when cut again from boxFromCrop (exact round trips)', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 500; n++) {
      const size = { width: 50 + Math.floor(rand() * 2000), height: 50 + Math.floor(rand() * 2000) };
      const box = { x: rand() * size.width, y: rand() * size.height, w: 1 + rand() * 300, h: 1 + rand() * 300 };
      const points = [at(box.x + rand() * box.w * 1.5, box.y + rand() * box.h * 1.5), null];
      const crop = instanceCrop(box, points, size);
      if (!crop) continue;
      expect(instanceCrop(boxFromCrop(crop), points, size)).toEqual(crop);
    }
  });
});

describe('clampCrop', () => {
  it('keeps the part inside the image', () => {
    expect(clampCrop({ x: -10, y: 20, w: 50, h: 200 }, { width: 30, height: 100 })).toEqual({
      x: 0,
      y: 20,
      w: 30,
      h: 80,
    });
    expect(clampCrop({ x: 40, y: 0, w: 5, h: 5 }, { width: 30, height: 100 })).toBeNull();
  });
});

describe('itemsFromInstances', () => {
  const inst = (file: string, box: Instance['box'], points: (LabeledPoint | null)[], line: number): Instance => ({
    file,
    box,
    points,
    imageSize: { width: 400, height: 300 },
    at: { line },
  });

  it('keeps a file with one instance whole, even when it has a box', () => {
    expect(itemsFromInstances([inst('a.png', { x: 10, y: 10, w: 20, h: 20 }, [at(15, 15)], 1)])).toEqual([
      { file: 'a.png', crop: null, points: [at(15, 15)] },
    ]);
  });

  it('cuts one crop per instance where a file holds several, leaving out instances with nothing to cut', () => {
    const items = itemsFromInstances([
      inst('a.png', { x: 10, y: 10, w: 40, h: 40 }, [null], 1),
      inst('a.png', null, [null], 2),
      inst('b.png', null, [null], 3),
      inst('a.png', null, [at(200, 100)], 4),
      inst('b.png', null, [null], 5),
    ]);
    expect(items).toEqual([
      { file: 'a.png', crop: { x: 5, y: 5, w: 50, h: 50 }, points: [null] },
      { file: 'b.png', crop: null, points: [null] },
      { file: 'a.png', crop: { x: 180, y: 80, w: 40, h: 40 }, points: [at(200, 100)] },
    ]);
  });

  it('keeps the one cuttable instance of a file whole when the others have nothing', () => {
    expect(itemsFromInstances([inst('a.png', null, [null], 1), inst('a.png', null, [at(5, 6)], 2)])).toEqual([
      { file: 'a.png', crop: null, points: [at(5, 6)] },
    ]);
  });

  it('refuses an instance that lies outside its image, naming where it is', () => {
    expect(() =>
      itemsFromInstances([
        inst('a.png', { x: 10, y: 10, w: 5, h: 5 }, [null], 3),
        inst('a.png', { x: 900, y: 900, w: 5, h: 5 }, [null], 7),
      ]),
    ).toThrow(/line 7: the instance in "a.png" lies outside the image \(400x300\)/);
  });

  it('refuses two instances of a file with the same box', () => {
    const box = { x: 10, y: 10, w: 40, h: 40 };
    expect(() =>
      itemsFromInstances([inst('a.png', box, [null], 2), inst('b.png', box, [null], 3), inst('a.png', box, [null], 4)]),
    ).toThrow(/line 4: this instance of "a.png" has the same box as the one at line 2 \(listed twice\?\)/);
  });
});
