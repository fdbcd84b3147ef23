import { describe, expect, it } from 'vitest';
import { csvText, readCsv } from './csv.js';
import { formatDlcCsv, parseDlcCsv } from './dlc.js';
import { ImportFormatError } from './labelSet.js';
import type { LabelSet } from './labelSet.js';
import { parseLabelsJson } from './labelsJson.js';
import { haveDatasets, readDataset, skipReason } from './testDatasets.js';

const MOUSE = 'dlc_reaching_mouse';

describe.skipIf(!haveDatasets)(
  `DeepLabCut CSV on the real reaching-mouse project (${haveDatasets ? 'present' : skipReason})`,
  () => {
    const csv = haveDatasets ? readDataset(`${MOUSE}/CollectedData_Mackenzie.csv`) : '';
    const configYaml = haveDatasets ? readDataset(`${MOUSE}/config.yaml`) : '';

    it('reads bodyparts, skeleton and every point, agreeing with labels.json of the same source', () => {
      const set = parseDlcCsv(csv, { configYaml });
      expect(set.keypoints).toEqual(['Hand', 'Finger1', 'Tongue', 'Joystick1', 'Joystick2']);
      expect(set.edges).toEqual([
        ['Hand', 'Finger1'],
        ['Joystick1', 'Joystick2'],
      ]);
      expect(set.items).toHaveLength(55);
      expect(set.items[0]!.file).toBe('labeled-data/reachingvideo1/img005.png');
      expect(set.items.flatMap((i) => i.points).filter((p) => p === null)).toHaveLength(42);

      const reference = parseLabelsJson(readDataset(`${MOUSE}/labels.json`));
      expect(set.items.map((i) => ({ ...i, file: i.file.split('/').at(-1) }))).toEqual(reference.items);
    });

    it('writes the file back byte for byte', () => {
      expect(formatDlcCsv(parseDlcCsv(csv, { configYaml }), { scorer: 'Mackenzie' })).toBe(csv);
    });

    it('reads the three-index-column layout of newer DeepLabCut the same way', () => {
      const rows = readCsv(csv).map(({ cells: [first, ...rest] }, r) =>
        r < 3 ? [first!, '', '', ...rest] : [...first!.split('/'), ...rest],
      );
      expect(rows[3]!.slice(0, 3)).toEqual(['labeled-data', 'reachingvideo1', 'img005.png']);
      expect(parseDlcCsv(csvText(rows), { configYaml })).toEqual(parseDlcCsv(csv, { configYaml }));
    });

    it('round-trips parse -> format -> parse', () => {
      const set = parseDlcCsv(csv, { configYaml });
      expect(parseDlcCsv(formatDlcCsv(set, { scorer: 'me' }), { configYaml })).toEqual(set);
    });

    it('refuses a config.yaml of another project, naming the bodypart', () => {
      const other = configYaml.replace('- Tongue', '- Nose');
      expect(() => parseDlcCsv(csv, { configYaml: other })).toThrow(
        /line 2: bodypart "Tongue" is not in config.yaml's bodyparts/,
      );
    });
  },
);

const MULTI = `scorer,me,me,me,me,me,me,me,me,me,me
individuals,mus1,mus1,mus1,mus1,mus2,mus2,mus2,mus2,single,single
bodyparts,snout,snout,tail,tail,snout,snout,tail,tail,cage,cage
coords,x,y,x,y,x,y,x,y,x,y
labeled-data/v/a.png,100,100,140,110,300,200,330,260,,
labeled-data/v/b.png,50,60,,,,,,,,
labeled-data/v/c.png,,,,,,,,,,
`;

describe('DeepLabCut CSV, multi-animal', () => {
  it('cuts one crop per labeled individual from its points, keeps single ones whole', () => {
    const set = parseDlcCsv(MULTI);
    expect(set.keypoints).toEqual(['snout', 'tail']);
    const v = (x: number, y: number) => ({ x, y, visibility: 'visible' });
    expect(set.items).toEqual([
      // 40x10 extent grown to 40x32 (y 89..121), plus the 0.125 margin: x 95..145, y 85..125.
      { file: 'labeled-data/v/a.png', crop: { x: 95, y: 85, w: 50, h: 40 }, points: [v(100, 100), v(140, 110)] },
      // 30x60 extent grown to 32x60 (x 299..331), plus the margin: x 295..335, y 192.5..267.5 rounded up.
      { file: 'labeled-data/v/a.png', crop: { x: 295, y: 193, w: 40, h: 75 }, points: [v(300, 200), v(330, 260)] },
      { file: 'labeled-data/v/b.png', crop: null, points: [v(50, 60), null] },
      { file: 'labeled-data/v/c.png', crop: null, points: [null, null] },
    ]);
    expect(parseDlcCsv(formatDlcCsv(set, { scorer: 'me' }))).toEqual(set);
    expect(formatDlcCsv(set, { scorer: 'me' }).split('\n')[1]).toBe(
      'individuals,individual1,individual1,individual1,individual1,individual2,individual2,individual2,individual2',
    );
  });

  it('refuses labeled unique bodyparts, naming the image and the bodyparts', () => {
    const labeled = MULTI.replace('330,260,,', '330,260,5,6');
    expect(() => parseDlcCsv(labeled)).toThrow(/line 5: "labeled-data\/v\/a.png" labels unique bodyparts \(cage\)/);
  });

  it('takes the keypoints of a multi-animal config from multianimalbodyparts', () => {
    const config =
      'multianimalproject: true\nbodyparts: MULTI!\nmultianimalbodyparts: [tail, snout, ear]\nskeleton: [[snout, ear]]\n';
    const set = parseDlcCsv(MULTI, { configYaml: config });
    expect(set.keypoints).toEqual(['tail', 'snout', 'ear']);
    expect(set.edges).toEqual([['snout', 'ear']]);
    expect(set.items[2]!.points).toEqual([null, { x: 50, y: 60, visibility: 'visible' }, null]);
  });
});

describe('DeepLabCut CSV, edge cases and errors', () => {
  const set: LabelSet = {
    keypoints: ['口', 'left, eye', 'say "hi"'],
    edges: [],
    flipPairs: [],
    normPair: null,
    items: [
      {
        file: 'labeled-data/vid, "one"/img 1.png',
        crop: null,
        points: [{ x: 1.5, y: 2.25, visibility: 'visible' }, null, null],
      },
      {
        file: 'labeled-data/vidé/img2.png',
        crop: null,
        points: [null, { x: 0, y: 1e-7, visibility: 'visible' }, null],
      },
    ],
  };

  it('round-trips unicode, commas and quotes in names and files', () => {
    expect(parseDlcCsv(formatDlcCsv(set, { scorer: 'S' }))).toEqual(set);
  });

  it('writes occluded points as labeled and absent ones empty (DeepLabCut has no flags)', () => {
    const flagged: LabelSet = {
      ...set,
      items: [
        {
          file: 'x.png',
          crop: null,
          points: [{ x: 3, y: 4, visibility: 'occluded' }, { x: 0, y: 0, visibility: 'absent' }, null],
        },
      ],
    };
    expect(parseDlcCsv(formatDlcCsv(flagged, { scorer: 'S' })).items[0]!.points).toEqual([
      { x: 3, y: 4, visibility: 'visible' },
      null,
      null,
    ]);
  });

  const head = 'scorer,s,s,s,s\nbodyparts,a,a,b,b\ncoords,x,y,x,y\n';
  it.each([
    ['img.png,1,2,abc,4\n', /line 4: "b" x must be a number, found "abc"/],
    ['img.png,1,2,NaN,4\n', /line 4: "b" x must be a number, found "NaN"/],
    ['img.png,1,-2,3,4\n', /line 4: "a" y must not be negative, found -2/],
    ['img.png,1,,3,4\n', /line 4: "a" has x but no y/],
    ['img.png,1,2,3\n', /line 4: has 4 cells, the header 5/],
    ['img.png,1,2,3,4\nimg.png,1,2,3,4\n', /line 5: "img.png" is listed twice \(also line 4\)/],
    [',1,2,3,4\n', /line 4: the image reference is empty/],
  ])('names the line of a bad data row (%j)', (rows, message) => {
    expect(() => parseDlcCsv(head + rows)).toThrow(message);
    expect(() => parseDlcCsv(head + rows)).toThrow(ImportFormatError);
  });

  it.each([
    ['bodyparts,a,a\ncoords,x,y\n', /line 1: a DeepLabCut CSV starts with a "scorer" row/],
    ['scorer,s,s\ncoords,x,y\n', /line 2: expected the "bodyparts" header row/],
    [
      'scorer,s,s,s\nbodyparts,a,a,a\ncoords,x,y,likelihood\n',
      /line 3: column 4: coords must be x or y, found "likelihood" \(this is a prediction file/,
    ],
    ['scorer,s,s,s\nbodyparts,a,a,a\ncoords,x,y,x\n', /line 3: column 4: a second x for "a"/],
    ['scorer,s,s,s\nbodyparts,a,a,b\ncoords,x,y,x\n', /line 3: "b" has no y column/],
    ['scorer,s,s\nbodyparts,a,a\n', /line 3: expected the "coords" header row/],
  ])('names the line of a bad header (%j)', (text, message) => {
    expect(() => parseDlcCsv(text)).toThrow(message);
  });

  it('names the config.yaml field that is wrong', () => {
    const csv = head + 'img.png,1,2,3,4\n';
    expect(() => parseDlcCsv(csv, { configYaml: 'bodyparts: [a, b]\nskeleton: [[a, c]]\n' })).toThrow(
      /config.yaml skeleton\[0\]: skeleton edge names "c", which is not a keypoint/,
    );
    expect(() => parseDlcCsv(csv, { configYaml: 'bodyparts: [a, a]\n' })).toThrow(
      /config.yaml bodyparts\[1\]: keypoint "a" is named twice/,
    );
    expect(() => parseDlcCsv(csv, { configYaml: 'bodyparts: {a: 1}\n' })).toThrow(
      /config.yaml bodyparts: must be a list/,
    );
    expect(() => parseDlcCsv(csv, { configYaml: 'bodyparts: [a\n' })).toThrow(/config.yaml: is not valid YAML/);
  });
});
