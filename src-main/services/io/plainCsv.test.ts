import { describe, expect, it } from 'vitest';
import { ImportFormatError } from './labelSet.js';
import type { LabelSet } from './labelSet.js';
import { parseLabelsJson } from './labelsJson.js';
import { formatPlainCsv, parsePlainCsv } from './plainCsv.js';
import { haveDatasets, labelFolders, readDataset, skipReason } from './testDatasets.js';

const v = (x: number, y: number, visibility: 'visible' | 'occluded' = 'visible') => ({ x, y, visibility });

describe('plain CSV', () => {
  it('reads the example of docs/formats.md', () => {
    const text = [
      'image,keypoint,x,y,visibility',
      'mice/img001.png,snout,120.5,88,visible',
      'mice/img001.png,left ear,131,70.25,',
      'mice/img001.png,right ear,,,absent',
      'mice/img002.png,snout,118,90,occluded',
      'mice/img002.png,tail base,,,',
    ].join('\n');
    expect(parsePlainCsv(text)).toEqual({
      keypoints: ['snout', 'left ear', 'right ear', 'tail base'],
      edges: [],
      flipPairs: [],
      normPair: null,
      items: [
        {
          file: 'mice/img001.png',
          crop: null,
          points: [v(120.5, 88), v(131, 70.25), { x: 0, y: 0, visibility: 'absent' }, null],
        },
        { file: 'mice/img002.png', crop: null, points: [v(118, 90, 'occluded'), null, null, null] },
      ],
    });
  });

  it('takes columns in any order, any case, visibility optional', () => {
    expect(parsePlainCsv('Y,X,Keypoint,IMAGE\r\n2,1,a,f.png\r\n').items).toEqual([
      { file: 'f.png', crop: null, points: [v(1, 2)] },
    ]);
  });

  it('round-trips crops, unlabeled, absent and occluded points, unicode, commas and quotes', () => {
    const set: LabelSet = {
      keypoints: ['näse', 'ear, "left"', '尾'],
      edges: [],
      flipPairs: [],
      normPair: null,
      items: [
        {
          file: 'dir/group "A", 1.png',
          crop: { x: 0, y: 5, w: 40, h: 41 },
          points: [v(1, 2), null, { x: 0, y: 0, visibility: 'absent' }],
        },
        {
          file: 'dir/group "A", 1.png',
          crop: { x: 50, y: 5, w: 40, h: 41 },
          points: [null, v(60.125, 7, 'occluded'), null],
        },
        { file: 'ünlabeled\n.png', crop: null, points: [null, null, null] },
      ],
    };
    const text = formatPlainCsv(set);
    expect(text.split('\n')[0]).toBe('image,keypoint,x,y,visibility,crop_x,crop_y,crop_w,crop_h');
    expect(parsePlainCsv(text)).toEqual(set);
  });

  it('writes no crop columns when there are no crops', () => {
    const set: LabelSet = {
      keypoints: ['a'],
      edges: [],
      flipPairs: [],
      normPair: null,
      items: [{ file: 'f.png', crop: null, points: [v(1, 2)] }],
    };
    expect(formatPlainCsv(set)).toBe('image,keypoint,x,y,visibility\nf.png,a,1,2,visible\n');
  });

  const head = 'image,keypoint,x,y,visibility\n';
  it.each([
    ['f.png,a,1,2,visible\nf.png,b,abc,2,\n', /line 3: "b" x must be a number, found "abc"/],
    ['f.png,a,NaN,2,\n', /line 2: "a" x must be a number, found "NaN"/],
    ['f.png,a,1,-2,\n', /line 2: "a" y must not be negative, found -2/],
    ['f.png,a,1,,\n', /line 2: "a" needs both x and y/],
    ['f.png,a,,,occluded\n', /line 2: "a" needs both x and y/],
    ['f.png,a,1,2,absent\n', /line 2: "a" is absent but has coordinates: leave x and y empty/],
    ['f.png,a,1,2,hidden\n', /line 2: visibility must be visible, occluded, absent or empty, found "hidden"/],
    ['f.png,a,1,2\n', /line 2: has 4 cells, the header 5/],
    [',a,1,2,\n', /line 2: image is empty/],
    ['f.png, ,1,2,\n', /line 2: keypoint name is empty/],
    ['f.png,a,1,2,\n\nf.png,a,3,4,\n', /line 4: "a" of "f.png" is given twice \(also line 2\)/],
  ])('names the line of a bad row (%j)', (rows, message) => {
    expect(() => parsePlainCsv(head + rows)).toThrow(message);
    expect(() => parsePlainCsv(head + rows)).toThrow(ImportFormatError);
  });

  it.each([
    ['', /line 1: the file is empty/],
    [
      'f.png,a,1,2\n',
      /line 1: column 1 of the header is not one of image, keypoint, x, y, visibility, crop_x, crop_y, crop_w, crop_h \(a header row naming the columns is required\)/,
    ],
    ['image,keypoint,x\n', /line 1: missing column y/],
    ['image,keypoint,x,y,x\n', /line 1: column "x" appears twice/],
    ['image,keypoint,x,y,crop_x\n', /line 1: crop columns come as all four/],
  ])('names what is wrong with the header (%j)', (text, message) => {
    expect(() => parsePlainCsv(text)).toThrow(message);
  });

  it('refuses a partial or empty crop', () => {
    const h = 'image,keypoint,x,y,crop_x,crop_y,crop_w,crop_h\n';
    expect(() => parsePlainCsv(h + 'f.png,a,1,2,0,0,10,\n')).toThrow(
      /line 2: a crop needs all of crop_x, crop_y, crop_w, crop_h/,
    );
    expect(() => parsePlainCsv(h + 'f.png,a,1,2,0,0,0,10\n')).toThrow(/line 2: crop_w and crop_h must be positive/);
  });
});

describe.skipIf(!haveDatasets)(`plain CSV on every shared dataset (${haveDatasets ? 'present' : skipReason})`, () => {
  it.each(labelFolders())('%s: exact round trip', (folder) => {
    const set = parseLabelsJson(readDataset(`${folder}/labels.json`));
    expect(parsePlainCsv(formatPlainCsv(set))).toEqual(set);
  });
});
