// Fuzzing the real HTTP host over the real services on a temporary project: seeded, bounded
// payloads over every API method (wrong types, missing and extra fields, huge and non-finite
// numbers, out-of-image coordinates, traversal and NUL paths, invalid JSON). It asserts no 5xx,
// no request that failed changed the database, no invalid value stored, and a host that still
// answers. Long jobs are never started: runs.train and runs.pretrain only get payloads that fail
// validation or the path policy, and the project has no runs for predict/evaluate to use.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiMethods, type ApiMethod } from '../../src-shared/api.js';
import { createServices, type Services } from '../services/index.js';
import { databaseSnapshot, labelingProject, workspace, type Workspace } from '../services/testing/fixtures.js';
import { startHost, type RunningHost } from './server.js';

const SEED = 20240917;
const REQUESTS = 3000;
/** Methods that write nothing: their successes need no database comparison. */
const READ_ONLY = new Set<ApiMethod>([
  'project.info',
  'images.list',
  'images.get',
  'images.problems',
  'schema.get',
  'annotations.list',
  'runs.list',
  'runs.get',
  'predictions.list',
  'review.list',
  'review.progress',
  'review.suggest',
  'overlays.get',
  'overlays.find',
]);
/** Methods that would start a long job when valid: always sent something that must be refused. */
const JOBS = new Set<ApiMethod>([
  'runs.train',
  'runs.pretrain',
  'runs.features',
  'review.retrain',
  'matching.match',
  'matching.evaluate',
  'matching.propagate',
]);
/** Methods that switch or rescan the project: only given paths the policy refuses. */
const PROJECT_PATHS = new Set<ApiMethod>(['project.create', 'project.open', 'project.relink']);

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let ws: Workspace;
let services: Services;
let host: RunningHost;
let allowed: string;
let outside: string;
let imageIds: number[];
let keypointIds: number[];

beforeAll(async () => {
  ws = workspace('ls-fuzz-');
  const made = await labelingProject(ws, 3, ['nose', 'left_eye', 'right_eye']);
  imageIds = made.images.map((i) => i.id);
  keypointIds = made.keypoints.map((k) => k.id);
  made.services.close();
  allowed = path.join(ws.dir, 'allowed');
  outside = path.join(ws.dir, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.csv'), 'image,keypoint,x,y\nimg0.jpg,nose,1,1\n');
  writeFileSync(path.join(allowed, 'labels.csv'), 'image,keypoint,x,y\nimg0.jpg,nose,3,4\nimg1.jpg,tail,60,40\n');
  writeFileSync(path.join(allowed, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  symlinkSync(path.join(outside, 'secret.csv'), path.join(allowed, 'link.csv'));
  services = createServices({
    projectDir: ws.projectDir,
    paths: { roots: () => [allowed], hint: 'fuzz: the allowed folder' },
    runQueue: true, // as serve runs it
  });
  host = await startHost({ services, rendererDir: null });
});

afterAll(async () => {
  await host?.close();
  services?.close();
  ws?.cleanup();
});

describe('fuzzed API over HTTP', () => {
  it(`answers ${REQUESTS} seeded payloads over every method without 5xx, invalid values or stray changes`, async () => {
    const rand = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const refusedPaths = [
      '/etc/passwd',
      '../../../../etc/passwd',
      `${allowed}/../outside/secret.csv`,
      path.join(outside, 'new.csv'),
      path.join(allowed, 'link.csv'),
      `${allowed}/x\u0000.csv`,
      `${allowed}\u0000/../../etc/passwd`,
      'a\nb',
      '\ud800',
      '',
      'x'.repeat(5000),
    ];
    const usablePaths = [
      path.join(allowed, 'labels.csv'),
      path.join(allowed, 'passwd'),
      path.join(allowed, 'out.json'),
    ];
    const junk: unknown[] = [
      -1,
      0,
      0.5,
      2 ** 53,
      1e308,
      -1e308,
      '',
      ' ',
      'x'.repeat(300),
      true,
      null,
      [],
      {},
      [1, 2],
      { nested: { deeper: [1] } },
      '1',
      '#GGGGGG',
      ...refusedPaths,
    ];
    const id = () => pick([...imageIds, ...keypointIds, 0, -1, 999_999, 2 ** 53, 1.5]);
    const coord = () => pick([0, 1, 10.5, 47.9, 48, 63.99, 64, 64.0001, 65, -0.0001, 1e6, 1e7]);
    const templates: Record<ApiMethod, () => Record<string, unknown>> = {
      'project.create': () => ({ projectDir: pick(refusedPaths), imageRoot: pick([...refusedPaths, ws.imageRoot]) }),
      'project.open': () => ({ projectDir: pick(refusedPaths) }),
      'project.info': () => ({}),
      'project.relink': () => ({ imageRoot: pick(refusedPaths) }),
      'images.list': () => ({ filter: pick(['all', 'labeled', 'problems', 'nope']), offset: 0, limit: 10 }),
      'images.get': () => ({ imageId: pick(imageIds) }),
      'images.problems': () => ({}),
      'schema.get': () => ({}),
      'keypoints.add': () => ({ name: pick(['tail', 'ear', ' ', 'x'.repeat(201)]), color: '#00ff00' }),
      'keypoints.update': () => ({ id: pick(keypointIds), name: pick(['nose2', 'eye']), color: '#123456' }),
      'keypoints.reorder': () => ({ ids: [...keypointIds].reverse() }),
      'keypoints.delete': () => ({ id: pick(keypointIds), confirm: rand() < 0.1 }),
      'keypoints.rejectFlipPair': () => ({ a: pick(keypointIds), b: pick(keypointIds) }),
      'skeleton.addEdge': () => ({ a: pick(keypointIds), b: pick(keypointIds) }),
      'skeleton.deleteEdge': () => ({ id: id() }),
      'schema.setNormPair': () => ({ pair: [pick(keypointIds), pick(keypointIds)] }),
      'annotations.list': () => ({ imageId: pick(imageIds) }),
      'annotations.set': () => ({
        imageId: pick(imageIds),
        keypointId: pick(keypointIds),
        x: coord(),
        y: coord(),
        visibility: pick(['visible', 'occluded', 'absent', 'hidden']),
      }),
      'annotations.setVisibility': () => ({
        imageId: pick(imageIds),
        keypointId: pick(keypointIds),
        visibility: pick(['visible', 'occluded', 'absent']),
      }),
      'annotations.delete': () => ({ imageId: pick(imageIds), keypointId: pick(keypointIds) }),
      'annotations.copyFrom': () => ({ imageId: pick(imageIds), fromImageId: pick(imageIds) }),
      'history.undo': () => ({}),
      'history.redo': () => ({}),
      'io.import': () => ({
        format: pick(['csv', 'coco', 'labels', 'dlc']),
        file: pick([...usablePaths, ...refusedPaths]),
      }),
      'io.export': () => ({
        format: pick(['csv', 'coco', 'labels', 'dlc']),
        file: pick([...usablePaths, ...refusedPaths]),
        overwrite: rand() < 0.5,
      }),
      'images.split': () => ({ testFraction: pick([0, 0.3, 1, 1.5, -1]), seed: pick([1, 2 ** 31, 2 ** 32]) }),
      'runs.list': () => ({ kind: pick(['train', 'pretrain', 'nope']) }),
      'runs.get': () => ({ runId: id() }),
      // Blocking runs never start here: each template has several faults, so one mutation cannot fix them all.
      'runs.train': () => ({ head: 'heatmap', labels: 1_000_000, size: 1, fuzz: true }),
      'runs.pretrain': () => ({ folder: pick(refusedPaths), epochs: 0, fuzz: true }),
      'runs.predict': () => ({ runId: id() }),
      'runs.evaluate': () => ({ runId: id() }),
      'runs.cancel': () => ({ runId: id() }),
      // Queued runs never start here: a refused folder, an unknown field, or no labels to train on.
      'runs.start': () =>
        pick([
          { kind: 'pretrain', settings: { folder: pick(refusedPaths), minutes: pick([1, 0, -1]) } },
          { kind: 'train', settings: { head: 'heatmap', fuzz: true } },
          { kind: 'predict', settings: { runId: id() } },
          { kind: 'features', settings: { runId: id() } },
        ]),
      'runs.estimate': () => ({ kind: 'pretrain', settings: { folder: pick(refusedPaths), size: pick([8, 48, 1e9]) } }),
      'runs.pause': () => ({ runId: id() }),
      'runs.resume': () => ({ runId: id(), minutes: pick([1, 0, -1, 1e308]) }),
      'runs.delete': () => ({ runId: id(), confirm: rand() < 0.5 }),
      'engine.info': () => ({ fuzz: true }),
      'folders.inspect': () => ({ folder: pick(refusedPaths) }),
      'predictions.list': () => ({ runId: id() }),
      // The project has no runs: features, retraining and review calls name runs that do not exist.
      'runs.features': () => ({ runId: id() }),
      'review.list': () => ({
        runId: id(),
        keypointId: pick(keypointIds),
        filter: pick(['all', 'unlabeled', 'reviewed', 'nope']),
      }),
      'review.acceptImage': () => ({ runId: id(), imageId: pick(imageIds), overwrite: rand() < 0.5 }),
      'review.acceptPoint': () => ({ runId: id(), imageId: pick(imageIds), keypointId: pick(keypointIds) }),
      'review.correct': () => ({
        runId: id(),
        imageId: pick(imageIds),
        keypointId: pick(keypointIds),
        x: coord(),
        y: coord(),
        visibility: pick(['visible', 'occluded', 'absent', 'hidden']),
      }),
      'review.markReviewed': () => ({ runId: id(), imageId: pick(imageIds), reviewed: rand() < 0.5 }),
      'review.progress': () => ({ runId: id() }),
      'review.retrain': () => pick([{}, { runId: id() }]),
      'review.suggest': () => ({ runId: id(), count: pick([1, 10, 0, 1e6]) }),
      // Matching jobs never start here: the project has no runs to take features from, the
      // reference is the target, and an unknown field is refused.
      'matching.match': () => ({
        features: id(),
        referenceImageId: imageIds[0],
        targetImageId: imageIds[0],
        point: { x: coord(), y: coord() },
        fuzz: true,
      }),
      'matching.evaluate': () => ({ features: id(), pairs: pick([0, 1, 1e9]), fuzz: true }),
      'matching.propagate': () => ({ features: id(), imageIds: [pick(imageIds)], k: pick([0, 5, 1e9]), fuzz: true }),
      'overlays.get': () => ({ overlayId: id() }),
      'overlays.find': () => ({
        runId: pick([id(), null]),
        imageId: pick(imageIds),
        keypointId: pick([...keypointIds, null]),
        kind: pick(['match', 'heatmap', 'nope']),
      }),
    };
    expect(Object.keys(templates).sort()).toEqual([...apiMethods].sort());

    /** A request body: the template, or one mutation of it, or not JSON at all. */
    function body(method: string): string {
      const payload = (
        Object.hasOwn(templates, method) ? templates[method as ApiMethod] : templates[pick(apiMethods)]
      )();
      const keys = Object.keys(payload);
      const roll = rand();
      if (roll < 0.05)
        return pick(['{', '{"a":', 'null', '[]', '"text"', '{"x": 1e999}', '\u0000', '{"__proto__": {"x": 1}}']);
      if (roll < 0.1) return JSON.stringify(pick(junk));
      if (roll < 0.2) payload[`extra${Math.floor(rand() * 3)}`] = pick(junk);
      else if (roll < 0.3 && keys.length > 0) delete payload[pick(keys)];
      else if (roll < 0.6 && keys.length > 0) payload[pick(keys)] = pick(junk);
      let text = JSON.stringify(payload);
      // Non-finite numbers exist in JSON only as overflowing literals.
      if (rand() < 0.05 && keys.length > 0) text = text.replace(/:(-?\d+(\.\d+)?)/, ':1e999');
      return text;
    }

    const post = async (method: string, text: string) => {
      const res = await fetch(`${host.url}api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${host.token}`, 'Content-Type': 'application/json' },
        body: text,
      });
      return { status: res.status, reply: (await res.json()) as { ok: boolean } };
    };

    let accepted = 0;
    const started = Date.now();
    for (let n = 0; n < REQUESTS; n++) {
      const method = rand() < 0.02 ? pick(['nope', 'project.info/../x', '__proto__', 'constructor']) : pick(apiMethods);
      const text = body(method);
      const before = READ_ONLY.has(method as ApiMethod) ? null : databaseSnapshot(ws.projectDir);
      const { status, reply } = await post(method, text);
      const context = `#${n} ${method} ${text.slice(0, 300)}`;
      expect(status, context).toBeLessThan(500);
      expect(reply.ok, context).toBe(status === 200);
      if (reply.ok) accepted += 1;
      if (reply.ok && JOBS.has(method as ApiMethod)) throw new Error(`a job was started: ${context}`);
      if (reply.ok && PROJECT_PATHS.has(method as ApiMethod)) throw new Error(`a project path was allowed: ${context}`);
      if (before && !reply.ok) expect(databaseSnapshot(ws.projectDir), context).toEqual(before);
    }
    // Bounded: a few seconds on an idle machine; the limit only catches a runaway.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(accepted).toBeGreaterThan(REQUESTS / 20);

    expect((await post('project.info', '{}')).status).toBe(200);
    expectValidDatabase(ws.projectDir);
  }, 120_000);
});

/** Every stored value is one the API could have accepted. */
function expectValidDatabase(projectDir: string): void {
  const db = new Database(path.join(projectDir, 'project.sqlite'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const outsideImage = db
      .prepare(
        `SELECT a.* FROM annotations a JOIN images i ON i.id = a.image_id
          WHERE NOT (a.x BETWEEN ifnull(i.crop_x, 0) AND ifnull(i.crop_x + i.crop_w, i.width))
             OR NOT (a.y BETWEEN ifnull(i.crop_y, 0) AND ifnull(i.crop_y + i.crop_h, i.height))`,
      )
      .all();
    expect(outsideImage).toEqual([]);
    const keypoints = db.prepare('SELECT name, color FROM keypoints').all() as { name: string; color: string }[];
    for (const k of keypoints) {
      expect(k.name.trim(), k.name).toBe(k.name);
      expect(k.name.length, k.name).toBeGreaterThan(0);
      expect(k.name.length, k.name).toBeLessThanOrEqual(200);
      expect(k.color).toMatch(/^#[0-9a-fA-F]{6}$/);
    }
    const badEdges = db
      .prepare(
        'SELECT * FROM skeleton_edges WHERE a = b OR a NOT IN (SELECT id FROM keypoints) OR b NOT IN (SELECT id FROM keypoints)',
      )
      .all();
    expect(badEdges).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
  } finally {
    db.close();
  }
}
