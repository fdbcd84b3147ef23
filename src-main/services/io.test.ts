import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportFormat } from '../../src-shared/domain.js';
import { parseLabelsJson } from './io/index.js';
import { datasetsDir, haveDatasets, skipReason } from './io/testDatasets.js';
import { databaseSnapshot, labelingProject, testServices, workspace, writeJpeg } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

/** labels.json text for files in the fixture folder. */
function labelsJson(body: Record<string, unknown>): string {
  return JSON.stringify({ meta: { source: 'test' }, ...body });
}

describe('io.import', () => {
  it('creates missing keypoints and edges, matches images by path then by file name, and reports the rest', async () => {
    const p = await labelingProject(ws, 3, ['nose']);
    const file = path.join(ws.dir, 'labels.json');
    writeFileSync(
      file,
      labelsJson({
        names: ['NOSE', 'tail'],
        edges: [['NOSE', 'tail']],
        items: [
          {
            file: 'img0.jpg',
            points: [
              [10, 11],
              [20, 21, 'occluded'],
            ],
          },
          { file: 'some/other/root/img1.jpg', points: [null, [30, 31]] },
          { file: 'nowhere.jpg', points: [[1, 1], null] },
        ],
      }),
    );
    const report = await p.call('io.import', { format: 'labels', file });
    expect(report).toEqual({
      format: 'labels',
      images: 2,
      annotations: 3,
      keypointsCreated: ['tail'],
      unmatched: ['nowhere.jpg'],
      instances: 0,
      warnings: [],
      flipPairs: [],
      unpairedSides: [],
    });
    const schema = await p.call('schema.get', {});
    expect(schema.keypoints.map((k) => k.name)).toEqual(['nose', 'tail']);
    expect(schema.edges).toHaveLength(1);
    const [nose, tail] = schema.keypoints.map((k) => k.id);
    const on0 = await p.call('annotations.list', { imageId: p.images[0]!.id });
    expect(on0.map((a) => [a.keypointId, a.x, a.y, a.visibility, a.source])).toEqual([
      [nose, 10, 11, 'visible', 'human'],
      [tail, 20, 21, 'occluded', 'human'],
    ]);
    // The whole import is one undo step.
    await p.call('history.undo', {});
    expect((await p.call('project.info', {})).counts.annotations).toBe(0);
    p.services.close();
  });

  it('imports nothing from a malformed file, a missing file or a wrong option', async () => {
    const p = await labelingProject(ws, 2, ['nose']);
    await p.call('annotations.set', { imageId: p.images[0]!.id, keypointId: p.keypoints[0]!.id, x: 3, y: 3 });
    const before = databaseSnapshot(ws.projectDir);
    const bad = path.join(ws.dir, 'bad.json');
    // Valid until its last item: nothing of the first item may land.
    writeFileSync(
      bad,
      labelsJson({
        names: ['nose', 'new_point'],
        items: [
          {
            file: 'img0.jpg',
            points: [
              [1, 2],
              [3, 4],
            ],
          },
          { file: 'img1.jpg', points: [['x', 2], null] },
        ],
      }),
    );
    await expect(p.call('io.import', { format: 'labels', file: bad })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/items\[1\]\.points\[0\].*Nothing was imported/),
    });
    writeFileSync(bad, 'scorer,me\nnot,a,dlc,file');
    await expect(p.call('io.import', { format: 'dlc', file: bad })).rejects.toMatchObject({
      code: 'invalid',
      message: /Nothing was imported/,
    });
    await expect(p.call('io.import', { format: 'coco', file: bad })).rejects.toMatchObject({
      code: 'invalid',
      message: /Nothing was imported/,
    });
    await expect(p.call('io.import', { format: 'csv', file: path.join(ws.dir, 'missing.csv') })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(p.call('io.import', { format: 'csv', file: ws.dir })).rejects.toMatchObject({
      code: 'invalid',
      message: /not a file/,
    });
    await expect(p.call('io.import', { format: 'csv', file: bad, configFile: bad })).rejects.toMatchObject({
      code: 'invalid',
      message: /configFile/,
    });
    await expect(p.callRaw('io.import', { format: 'xml', file: bad })).rejects.toMatchObject({
      code: 'invalid',
      message: /format/,
    });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
    p.services.close();
  });

  it('pairs left/right partners from names and reports them; a rejected pair stays rejected on re-import', async () => {
    const p = await labelingProject(ws, 1, ['nose']);
    const file = path.join(ws.dir, 'labels.json');
    const names = ['nose', 'leftear', 'rightear', 'paw_L', 'paw_R', 'left_wing'];
    writeFileSync(file, labelsJson({ names, items: [{ file: 'img0.jpg', points: names.map(() => [5, 5]) }] }));
    const report = await p.call('io.import', { format: 'labels', file });
    expect(report.flipPairs).toEqual([
      { left: 'leftear', right: 'rightear', source: 'names' },
      { left: 'paw_L', right: 'paw_R', source: 'names' },
    ]);
    expect(report.unpairedSides).toEqual([{ name: 'left_wing', reason: 'no keypoint is its right counterpart' }]);
    const id = (name: string) => schema.keypoints.find((k) => k.name === name)!.id;
    let schema = await p.call('schema.get', {});
    expect(schema.keypoints.find((k) => k.name === 'leftear')!.flipPartnerId).toBe(id('rightear'));

    // The user rejects the paws: unpaired, recorded, and not paired again by the next import.
    schema = await p.call('keypoints.rejectFlipPair', { a: id('paw_R'), b: id('paw_L') });
    expect(schema.keypoints.find((k) => k.name === 'paw_L')!.flipPartnerId).toBeNull();
    expect(schema.rejectedFlipPairs).toEqual([[id('paw_L'), id('paw_R')].sort((a, b) => a - b)]);
    expect(schema.flipProposals).toEqual([]);
    const again = await p.call('io.import', { format: 'labels', file });
    expect(again.flipPairs).toEqual([]);
    expect(again.unpairedSides).toContainEqual({ name: 'paw_L', reason: 'its partner by name, "paw_R", was rejected' });
    schema = await p.call('schema.get', {});
    expect(schema.keypoints.find((k) => k.name === 'paw_L')!.flipPartnerId).toBeNull();
    // Pairing them by hand lifts the rejection.
    schema = await p.call('keypoints.update', { id: id('paw_L'), flipPartnerId: id('paw_R') });
    expect(schema.rejectedFlipPairs).toEqual([]);
    p.services.close();
  });

  it('pairs nothing among three "left" names for one point, and says so', async () => {
    const p = await labelingProject(ws, 1, []);
    const file = path.join(ws.dir, 'labels.json');
    const names = ['leftear', 'left_ear', 'Left Ear', 'right_ear'];
    writeFileSync(file, labelsJson({ names, items: [{ file: 'img0.jpg', points: names.map(() => [5, 5]) }] }));
    const report = await p.call('io.import', { format: 'labels', file });
    expect(report.flipPairs).toEqual([]);
    expect(report.unpairedSides.map((u) => u.name)).toEqual(['leftear', 'left_ear', 'Left Ear', 'right_ear']);
    expect(report.unpairedSides[0]!.reason).toMatch(/^ambiguous: "leftear", "left_ear", "Left Ear" and "right_ear"/);
    const schema = await p.call('schema.get', {});
    expect(schema.keypoints.every((k) => k.flipPartnerId === null)).toBe(true);
    expect(schema.unpairedSides).toHaveLength(4);
    p.services.close();
  });

  it('refuses a DeepLabCut CSV whose bodyparts config.yaml does not list, changing nothing', async () => {
    const p = await labelingProject(ws, 1, ['nose']);
    const before = databaseSnapshot(ws.projectDir);
    const csv = path.join(ws.dir, 'CollectedData_me.csv');
    writeFileSync(
      csv,
      'scorer,me,me,me,me\nbodyparts,left_ear,left_ear,right_ear,right_ear\ncoords,x,y,x,y\nimg0.jpg,1,2,3,4\n',
    );
    const config = path.join(ws.dir, 'config.yaml');
    writeFileSync(config, 'bodyparts:\n- left_ear\n- nose\n');
    await expect(p.call('io.import', { format: 'dlc', file: csv, configFile: config })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(
        /bodypart "right_ear" is not in config.yaml's bodyparts \(left_ear, nose\).*Nothing was imported/s,
      ),
    });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
    p.services.close();
  });

  it('makes one item per instance of a file holding several, reused when imported again', async () => {
    await writeJpeg(path.join(ws.imageRoot, 'group.jpg'), 200, 100);
    await writeJpeg(path.join(ws.imageRoot, 'single.jpg'), 201, 100);
    const { services, call } = testServices();
    await call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
    const file = path.join(ws.dir, 'faces.json');
    writeFileSync(
      file,
      labelsJson({
        names: ['eye'],
        items: [
          { file: 'group.jpg', bbox: [10, 10, 40, 40], points: [[30, 30]] },
          { file: 'group.jpg', bbox: [150, 20, 40, 60], points: [[170, 50]] },
          { file: 'single.jpg', points: [[5, 5]] },
        ],
      }),
    );
    const report = await call('io.import', { format: 'labels', file });
    expect(report).toMatchObject({ images: 3, annotations: 3, instances: 2, unmatched: [] });
    const items = (await call('images.list', { filter: 'labeled' })).items;
    expect(items.map((i) => [i.relPath, i.crop, i.labeledCount])).toEqual([
      ['group.jpg', { x: 5, y: 5, w: 50, h: 50 }, 1],
      ['group.jpg', { x: 145, y: 13, w: 50, h: 75 }, 1],
      ['single.jpg', null, 1],
    ]);
    const crop = await services.imageRendition(items[1]!.id, 'full');
    expect(crop.path.startsWith(path.join(ws.projectDir, 'cache'))).toBe(true);
    expect((await call('io.import', { format: 'labels', file })).instances).toBe(0);
    expect((await call('images.list', {})).total).toBe(4);
    services.close();
  });

  it('skips points outside their image with a warning and pulls points just over the edge onto it', async () => {
    const p = await labelingProject(ws, 1, ['a', 'b']);
    const file = path.join(ws.dir, 'edge.json');
    writeFileSync(
      file,
      labelsJson({
        names: ['a', 'b'],
        items: [
          {
            file: 'img0.jpg',
            points: [
              [64.6, 10],
              [500, 10],
            ],
          },
        ],
      }),
    );
    const report = await p.call('io.import', { format: 'labels', file });
    expect(report.annotations).toBe(1);
    expect(report.warnings).toEqual([expect.stringMatching(/"b" at \(500, 10\) lies outside the image; skipped/)]);
    expect((await p.call('annotations.list', { imageId: p.images[0]!.id }))[0]).toMatchObject({ x: 64, y: 10 });
    p.services.close();
  });
});

describe('io.export', () => {
  const formats: ImportFormat[] = ['labels', 'csv', 'coco', 'dlc'];
  it.each(formats)('writes %s that imports back to the same points', async (format) => {
    const p = await labelingProject(ws, 3, ['nose', 'left eye', 'right eye']);
    const [nose, left, right] = p.keypoints.map((k) => k.id) as [number, number, number];
    await p.call('keypoints.update', { id: left, flipPartnerId: right });
    await p.call('skeleton.addEdge', { a: nose, b: left });
    await p.call('annotations.set', { imageId: p.images[0]!.id, keypointId: nose, x: 10.25, y: 20.5 });
    await p.call('annotations.set', {
      imageId: p.images[0]!.id,
      keypointId: right,
      x: 30,
      y: 40,
      visibility: 'occluded',
    });
    await p.call('annotations.set', { imageId: p.images[2]!.id, keypointId: left, x: 63.5, y: 47.75 });
    const file = path.join(ws.dir, `export.${format === 'coco' || format === 'labels' ? 'json' : 'csv'}`);
    expect(await p.call('io.export', { format, file })).toEqual({ file, count: 2 });
    expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0);
    p.services.close();

    const points = async (call: typeof p.call, images: { id: number }[]) =>
      (await Promise.all(images.map((i) => call('annotations.list', { imageId: i.id })))).map((list) =>
        list.map((a) => [a.x, a.y, a.visibility === 'visible' ? 'visible' : 'not visible']),
      );
    // DeepLabCut CSV has no visibility column: an occluded point comes back as a plain point.
    const occluded = format === 'dlc' ? 'visible' : 'not visible';
    const expected = [
      [
        [10.25, 20.5, 'visible'],
        [30, 40, occluded],
      ],
      [],
      [[63.5, 47.75, 'visible']],
    ];
    const other = testServices();
    await other.call('project.create', { projectDir: path.join(ws.dir, 'other'), imageRoot: ws.imageRoot });
    const report = await other.call('io.import', { format, file });
    expect(report).toMatchObject({ images: 2, annotations: 3, unmatched: [] });
    const names = (await other.call('schema.get', {})).keypoints.map((k) => k.name);
    expect(names).toEqual(['nose', 'left eye', 'right eye']);
    const images = (await other.call('images.list', {})).items;
    expect(await points(other.call, images)).toEqual(expected);
    other.services.close();
  });

  it('refuses a folder that does not exist', async () => {
    const p = await labelingProject(ws, 1, ['nose']);
    await expect(
      p.call('io.export', { format: 'csv', file: path.join(ws.dir, 'no', 'such', 'x.csv') }),
    ).rejects.toMatchObject({ code: 'not_found' });
    p.services.close();
  });
});

describe.skipIf(!haveDatasets)(`real datasets (${haveDatasets ? datasetsDir : skipReason})`, () => {
  it('imports the DeepLabCut reaching-mouse CSV with its config', async () => {
    const { services, call } = testServices();
    const root = path.join(datasetsDir, 'dlc_reaching_mouse');
    await call('project.create', { projectDir: ws.projectDir, imageRoot: path.join(root, 'images') });
    const report = await call('io.import', {
      format: 'dlc',
      file: path.join(root, 'CollectedData_Mackenzie.csv'),
      configFile: path.join(root, 'config.yaml'),
    });
    expect(report).toMatchObject({ images: 55, annotations: 55 * 5 - 42, unmatched: [], instances: 0, warnings: [] });
    expect((await call('schema.get', {})).keypoints.map((k) => k.name)).toEqual([
      'Hand',
      'Finger1',
      'Tongue',
      'Joystick1',
      'Joystick2',
    ]);
    services.close();
  });

  it('imports the dlib faces as one crop item per face', async () => {
    const { services, call } = testServices();
    const root = path.join(datasetsDir, 'dlib_faces68');
    await call('project.create', { projectDir: ws.projectDir, imageRoot: path.join(root, 'images') });
    const set = parseLabelsJson(readFileSync(path.join(root, 'labels.json'), 'utf8'));
    const report = await call('io.import', { format: 'labels', file: path.join(root, 'labels.json') });
    const labeledPoints = set.items.reduce((n, item) => n + item.points.filter((q) => q !== null).length, 0);
    expect(report).toMatchObject({
      images: set.items.length,
      instances: set.items.filter((i) => i.crop !== null).length,
      annotations: labeledPoints,
      unmatched: [],
    });
    expect(report.instances).toBeGreaterThan(9);
    services.close();
  });
});
