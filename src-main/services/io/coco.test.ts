import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatCoco, parseCocoKeypoints } from './coco.js';
import { ImportFormatError } from './labelSet.js';
import type { ImageSize, LabelSet } from './labelSet.js';
import {
  datasetsDir,
  expectItemsOf,
  haveDatasets,
  labelFolders,
  type RawLabels,
  readRawLabels,
  skipReason,
} from './testDatasets.js';

/** A COCO file as annotation tools write one: tight bbox per instance, ids, extra fields. */
function cocoFromLabels(raw: RawLabels, sizes: Map<string, ImageSize>): string {
  const files = [...new Set(raw.items.map((i) => i.file))];
  return JSON.stringify({
    info: { description: 'test', year: 2020 },
    licenses: [{ id: 1, name: 'x', url: 'http://example.org' }],
    categories: [{ supercategory: 'thing', id: 7, name: 'thing', keypoints: raw.names, skeleton: [[1, 2]] }],
    images: files.map((file, i) => ({ license: 1, file_name: file, id: 1000 + i, ...sizes.get(file) })),
    annotations: raw.items.map((item, i) => {
      const placed = item.points.filter((p): p is [number, number] => p !== null);
      const xs = placed.map((p) => p[0]);
      const ys = placed.map((p) => p[1]);
      const bbox = [
        Math.min(...xs),
        Math.min(...ys),
        Math.max(...xs) - Math.min(...xs),
        Math.max(...ys) - Math.min(...ys),
      ];
      return {
        segmentation: [[1, 2, 3, 4]],
        num_keypoints: placed.length,
        area: bbox[2]! * bbox[3]!,
        iscrowd: 0,
        keypoints: item.points.flatMap((p) => (p ? [p[0], p[1], 2] : [0, 0, 0])),
        image_id: 1000 + files.indexOf(item.file),
        bbox,
        category_id: 7,
        id: 5000 + i,
      };
    }),
  });
}

const cocoFolders = labelFolders().filter((f) => f.startsWith('mmpose_testdata/'));

describe.skipIf(!haveDatasets)(
  `COCO keypoints on the shared mmpose domains (${haveDatasets ? 'present' : skipReason})`,
  () => {
    const sizes = new Map<string, Map<string, ImageSize>>();
    beforeAll(async () => {
      for (const folder of cocoFolders) {
        const raw = readRawLabels(folder);
        const entries = await Promise.all(
          [...new Set(raw.items.map((i) => i.file))].map(async (file) => {
            const meta = await sharp(path.join(datasetsDir, folder, 'images', file)).metadata();
            return [file, { width: meta.width!, height: meta.height! }] as const;
          }),
        );
        sizes.set(folder, new Map(entries));
      }
    });

    it.each(cocoFolders)('%s: every instance and point, crops inside the image, exact round trip', (folder) => {
      const raw = readRawLabels(folder);
      const imageSizes = sizes.get(folder)!;
      const set = parseCocoKeypoints(cocoFromLabels(raw, imageSizes));
      expect(set.edges).toEqual([[set.keypoints[0], set.keypoints[1]]]);
      expectItemsOf(set, raw, ({ x, y, w, h }, r) => {
        const size = imageSizes.get(r.file)!;
        expect(x >= 0 && y >= 0 && x + w <= size.width && y + h <= size.height).toBe(true);
        for (const p of r.points)
          if (p && p[0] <= size.width && p[1] <= size.height)
            expect(p[0] >= x && p[0] <= x + w && p[1] >= y && p[1] <= y + h).toBe(true);
      });
      expect(parseCocoKeypoints(formatCoco(set, { imageSizes }))).toEqual(set);
    });

    it('finds several-instance images in the COCO, AIC and CrowdPose domains', () => {
      const crops = (folder: string) => {
        const raw = readRawLabels(folder);
        return parseCocoKeypoints(cocoFromLabels(raw, sizes.get(folder)!)).items.filter((i) => i.crop).length;
      };
      expect([crops('mmpose_testdata/coco'), crops('mmpose_testdata/aic'), crops('mmpose_testdata/crowdpose')]).toEqual(
        [11, 9, 4],
      );
    });
  },
);

const v = (x: number, y: number, visibility: 'visible' | 'occluded' = 'visible') => ({ x, y, visibility });

const FIXTURE = {
  categories: [
    {
      id: 1,
      name: 'mouse',
      keypoints: ['snout', 'left ear', 'right ear'],
      skeleton: [
        [1, 2],
        [1, 3],
      ],
    },
    { id: 2, name: 'cage' },
  ],
  images: [
    { id: 10, file_name: 'frames/a.png', width: 200, height: 100 },
    { id: 11, file_name: 'frames/b.png', width: 640, height: 480 },
    { id: 12, file_name: 'frames/unlabeled.png', width: 640, height: 480 },
  ],
  annotations: [
    { id: 1, image_id: 10, category_id: 1, keypoints: [20, 30, 2, 25, 20, 1, 0, 0, 0], bbox: [10, 10, 40, 40] },
    { id: 2, image_id: 10, category_id: 1, keypoints: [180, 90, 2, 0, 0, 0, 0, 0, 0], bbox: [150, 60, 48, 38] },
    { id: 3, image_id: 10, category_id: 1, iscrowd: 1, keypoints: [0, 0, 0, 0, 0, 0, 0, 0, 0], bbox: [0, 0, 5, 5] },
    { id: 4, image_id: 10, category_id: 2, bbox: [0, 0, 200, 100] },
    {
      id: 5,
      image_id: 11,
      category_id: 1,
      keypoints: [300, 200, 2, 310, 190, 2, 290, 190, 2],
      bbox: [280, 180, 40, 40],
    },
  ],
};

describe('COCO keypoints, behaviour', () => {
  it('cuts crops per instance, maps v 0/1/2, skips crowds, other categories and empty images', () => {
    const set = parseCocoKeypoints(JSON.stringify(FIXTURE));
    expect(set.keypoints).toEqual(['snout', 'left ear', 'right ear']);
    expect(set.edges).toEqual([
      ['snout', 'left ear'],
      ['snout', 'right ear'],
    ]);
    expect(set.items).toEqual([
      // bbox 40x40 at (10, 10) + 5 px each side; bbox 48x38 at (150, 60) + 6/4.75 px, clamped to 200x100.
      { file: 'frames/a.png', crop: { x: 5, y: 5, w: 50, h: 50 }, points: [v(20, 30), v(25, 20, 'occluded'), null] },
      { file: 'frames/a.png', crop: { x: 144, y: 55, w: 56, h: 45 }, points: [v(180, 90), null, null] },
      { file: 'frames/b.png', crop: null, points: [v(300, 200), v(310, 190), v(290, 190)] },
    ]);
    const sizes = new Map(FIXTURE.images.map((i) => [i.file_name, i]));
    expect(parseCocoKeypoints(formatCoco(set, { imageSizes: sizes }))).toEqual(set);
  });

  it('merges several keypoint categories, prefixing the names', () => {
    const doc = {
      ...FIXTURE,
      categories: [...FIXTURE.categories, { id: 3, name: 'hand', keypoints: ['wrist', 'thumb'], skeleton: [[2, 1]] }],
      annotations: [
        ...FIXTURE.annotations,
        { id: 6, image_id: 11, category_id: 3, keypoints: [50, 60, 2, 55, 66, 1], bbox: [40, 50, 20, 20] },
      ],
    };
    const set = parseCocoKeypoints(JSON.stringify(doc));
    expect(set.keypoints).toEqual(['mouse/snout', 'mouse/left ear', 'mouse/right ear', 'hand/wrist', 'hand/thumb']);
    expect(set.edges).toContainEqual(['hand/thumb', 'hand/wrist']);
    expect(set.items.filter((i) => i.file === 'frames/b.png').map((i) => i.points)).toEqual([
      [v(300, 200), v(310, 190), v(290, 190), null, null],
      [null, null, null, v(50, 60), v(55, 66, 'occluded')],
    ]);
    expect(
      parseCocoKeypoints(formatCoco(set, { imageSizes: new Map(FIXTURE.images.map((i) => [i.file_name, i])) })),
    ).toEqual(set);
  });

  it('accepts string ids (some tools write them)', () => {
    const doc = {
      categories: [{ id: 'c', keypoints: ['a'] }],
      images: [{ id: 'img-1', file_name: 'x.jpg', width: 10, height: 10 }],
      annotations: [{ id: 'a1', image_id: 'img-1', category_id: 'c', keypoints: [1, 2, 2] }],
    };
    expect(parseCocoKeypoints(JSON.stringify(doc)).items).toEqual([{ file: 'x.jpg', crop: null, points: [v(1, 2)] }]);
  });

  it('reads mmpose-style flip_pairs (0-based indices or names), writes them back, and names a bad pair', () => {
    const doc = (flipPairs: unknown) => ({
      categories: [{ id: 1, keypoints: ['nose', 'eye_a', 'eye_b', 'ear_a', 'ear_b'], flip_pairs: flipPairs }],
      images: [{ id: 1, file_name: 'x.jpg', width: 10, height: 10 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, keypoints: Array(15).fill(0) }],
    });
    const set = parseCocoKeypoints(
      JSON.stringify(
        doc([
          [1, 2],
          ['ear_a', 'ear_b'],
        ]),
      ),
    );
    expect(set.flipPairs).toEqual([
      ['eye_a', 'eye_b'],
      ['ear_a', 'ear_b'],
    ]);
    const sizes = new Map([['x.jpg', { width: 10, height: 10 }]]);
    expect(parseCocoKeypoints(formatCoco(set, { imageSizes: sizes })).flipPairs).toEqual(set.flipPairs);
    expect(() => parseCocoKeypoints(JSON.stringify(doc([[1, 5]])))).toThrow(
      /categories\[0\]\.flip_pairs\[0\]: flip pair \(two keypoint indices from 0, or two names\) must be a pair of keypoint names, found an array of 2/,
    );
    expect(() =>
      parseCocoKeypoints(
        JSON.stringify(
          doc([
            [1, 2],
            [2, 3],
          ]),
        ),
      ),
    ).toThrow(/flip_pairs\[1\]: "eye_b" already has a flip partner/);
  });

  it('writes valid COCO: ids that resolve, 3K numbers, counts, 1-based skeleton, boxes in the image', () => {
    const set: LabelSet = {
      keypoints: ['a', 'b', 'c'],
      edges: [['c', 'a']],
      flipPairs: [],
      normPair: null,
      items: [
        {
          file: 'p.png',
          crop: { x: 10, y: 10, w: 50, h: 50 },
          points: [v(20, 20), { x: 0, y: 0, visibility: 'absent' }, null],
        },
        { file: 'p.png', crop: { x: 100, y: 10, w: 50, h: 50 }, points: [null, v(120, 30, 'occluded'), null] },
        { file: 'q.png', crop: null, points: [v(1, 1), v(2, 2), v(3, 3)] },
      ],
    };
    const sizes = new Map([
      ['p.png', { width: 300, height: 200 }],
      ['q.png', { width: 64, height: 48 }],
    ]);
    const coco = JSON.parse(formatCoco(set, { imageSizes: sizes, categoryName: 'animal' }));
    expect(coco.categories).toEqual([
      { id: 1, name: 'animal', supercategory: 'animal', keypoints: ['a', 'b', 'c'], skeleton: [[3, 1]] },
    ]);
    expect(coco.images).toEqual([
      { id: 1, file_name: 'p.png', width: 300, height: 200 },
      { id: 2, file_name: 'q.png', width: 64, height: 48 },
    ]);
    expect(coco.annotations.map((a: { keypoints: number[] }) => a.keypoints)).toEqual([
      [20, 20, 2, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 120, 30, 1, 0, 0, 0],
      [1, 1, 2, 2, 2, 2, 3, 3, 2],
    ]);
    expect(coco.annotations.map((a: { num_keypoints: number }) => a.num_keypoints)).toEqual([1, 1, 3]);
    expect(coco.annotations.map((a: { id: number; image_id: number }) => [a.id, a.image_id])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    expect(coco.annotations[0].bbox).toEqual([15, 15, 40, 40]);
    expect(coco.annotations[2].bbox).toEqual([0, 0, 64, 48]);
    expect(() => formatCoco(set, { imageSizes: new Map([['p.png', { width: 1, height: 1 }]]) })).toThrow(
      /no image size given for "q.png"/,
    );
  });
});

describe('COCO keypoints, errors name the JSON path', () => {
  const withAnnotation = (patch: object) =>
    JSON.stringify({ ...FIXTURE, annotations: [{ ...FIXTURE.annotations[0], ...patch }] });
  it.each([
    ['{"images": []}', /annotations: must be an array, found nothing/],
    [
      JSON.stringify({ ...FIXTURE, categories: [{ id: 1, name: 'x' }] }),
      /categories: no category lists keypoints: this is not a COCO keypoints file/,
    ],
    [
      withAnnotation({ keypoints: [20, 30, 3, 0, 0, 0, 0, 0, 0] }),
      /annotations\[0\].keypoints\[2\]: visibility must be 0, 1 or 2, found 3/,
    ],
    [
      withAnnotation({ keypoints: [20, -1, 2, 0, 0, 0, 0, 0, 0] }),
      /annotations\[0\].keypoints\[1\]: "snout" y must not be negative, found -1/,
    ],
    [
      withAnnotation({ keypoints: [20, 'x', 2, 0, 0, 0, 0, 0, 0] }),
      /annotations\[0\].keypoints\[1\]: "snout" y must be a number, found a string/,
    ],
    [withAnnotation({ keypoints: [20, 30, 2] }), /annotations\[0\].keypoints: has 3 numbers, expected 3 x 3 keypoints/],
    [withAnnotation({ image_id: 99 }), /annotations\[0\].image_id: image 99 is not in images/],
    [withAnnotation({ category_id: 42 }), /annotations\[0\].category_id: category 42 is not in categories/],
    [withAnnotation({ bbox: [1, 2, -3, 4] }), /annotations\[0\].bbox: width and height must not be negative/],
    [
      JSON.stringify({ ...FIXTURE, categories: [{ id: 1, keypoints: ['a', 'b'], skeleton: [[0, 1]] }] }),
      /categories\[0\].skeleton\[0\]: must be two keypoint numbers from 1 to 2 \(COCO counts from 1\)/,
    ],
    [
      JSON.stringify({ ...FIXTURE, categories: [{ id: 1, keypoints: ['a', 'a'] }] }),
      /categories\[0\].keypoints\[1\]: keypoint "a" is named twice/,
    ],
    [
      JSON.stringify({ ...FIXTURE, categories: [...FIXTURE.categories, { id: 1, name: 'again' }] }),
      /categories\[2\].id: category id 1 is used twice/,
    ],
    [
      JSON.stringify({ ...FIXTURE, images: [FIXTURE.images[0], { ...FIXTURE.images[1], id: 10 }] }),
      /images\[1\].id: image id 10 is used twice/,
    ],
    [
      JSON.stringify({ ...FIXTURE, images: [FIXTURE.images[0], { ...FIXTURE.images[1], file_name: 'frames/a.png' }] }),
      /images\[1\].file_name: "frames\/a.png" is listed again \(as images\[0\]\)/,
    ],
    [
      JSON.stringify({ ...FIXTURE, images: [{ ...FIXTURE.images[0], width: 0 }] }),
      /images\[0\].width: must be a positive number, found 0/,
    ],
  ])('%#', (text, message) => {
    expect(() => parseCocoKeypoints(text)).toThrow(message);
    expect(() => parseCocoKeypoints(text)).toThrow(ImportFormatError);
  });

  it('names the instance that lies outside its image', () => {
    const doc = {
      ...FIXTURE,
      annotations: [
        FIXTURE.annotations[0],
        { ...FIXTURE.annotations[1], keypoints: [0, 0, 0, 0, 0, 0, 0, 0, 0], bbox: [900, 900, 5, 5] },
      ],
    };
    expect(() => parseCocoKeypoints(JSON.stringify(doc))).toThrow(
      /annotations\[1\]: the instance in "frames\/a.png" lies outside the image \(200x100\)/,
    );
  });
});
