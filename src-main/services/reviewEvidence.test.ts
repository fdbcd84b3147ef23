// Evidence for the review loop on generated demo frames (known landmarks on every frame), with
// real jobs: a small heatmap model's least confident points hold a larger share of its large
// errors than chance, and images suggested from its features cover the feature space better
// than random picks (mean distance from every image to its nearest labeled-or-suggested one).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src-shared/domain.js';
import { lowConfidenceShareOfLargeErrors } from '../../src-shared/metrics.js';
import { createRng } from '../../src-shared/random.js';
import { coverageDistance } from '../../src-shared/suggest.js';
import { importableLabelsJson, writeDemoDataset, type DemoLabels } from '../ml/demo/writeDataset.js';
import { testServices, workspace, type Workspace } from './testing/fixtures.js';

const FRAMES = 36;
const LABELED = 10;
const SUGGESTED = 6;

let ws: Workspace;
let t: ReturnType<typeof testServices>;
let truth: DemoLabels;
let trainRun: RunRecord;

async function ended(runId: number): Promise<RunRecord> {
  for (;;) {
    const { run } = await t.call('runs.get', { runId });
    if (['done', 'failed', 'cancelled', 'paused'].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  ws = workspace('ls-review-evidence-');
  const dataset = path.join(ws.dir, 'dataset');
  truth = await writeDemoDataset(dataset, {
    regime: 'frame',
    count: FRAMES,
    seed: 5,
    frameWidth: 160,
    frameHeight: 120,
  });
  const labelsFile = path.join(ws.dir, 'labels.json');
  await writeFile(labelsFile, importableLabelsJson(truth, new Set(truth.items.slice(0, LABELED).map((i) => i.file))));
  t = testServices({ runQueue: true });
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: path.join(dataset, 'images') });
  await t.call('io.import', { format: 'labels', file: labelsFile });
  // The product's backbone: a SmallNet at 64 px learns too little here for its confidence to mean
  // anything (the share below: 9-27% over seeds 1-4; 40% on seed 1 only before the inputs moved by
  // 0.2 grey levels on average); ResNet-18 at 128 px for 150 steps: 62%, 51%, 38% on seeds 1-3.
  const settings = { head: 'heatmap', backbone: 'resnet18', size: 128, steps: 150, seed: 1 } as const;
  trainRun = await ended((await t.call('runs.start', { kind: 'train', settings })).run.id);
  expect(trainRun.status).toBe('done');
}, 600_000);

afterAll(() => {
  t?.services.close();
  ws?.cleanup();
});

describe('review evidence on demo frames', { timeout: 600_000 }, () => {
  it('the 20% least confident points hold a clearly larger share of the 20% largest errors than 20%', async () => {
    const predicted = await ended(
      (await t.call('runs.start', { kind: 'predict', settings: { runId: trainRun.id, split: 'all' } })).run.id,
    );
    const images = new Map((await t.call('images.list', {})).items.map((i) => [i.relPath, i.id]));
    const keypointIds = new Map((await t.call('schema.get', {})).keypoints.map((k) => [k.name, k.id]));
    const predictions = await t.call('predictions.list', { runId: predicted.id });
    const at = new Map(predictions.map((p) => [`${p.imageId}/${p.keypointId}`, p]));
    // Held-out frames only: every frame the model did not train on, at its true landmarks.
    const points = truth.items.slice(LABELED).flatMap((item) =>
      item.points.flatMap((point, k) => {
        if (item.visibility[k] !== 'visible') return [];
        const p = at.get(`${images.get(item.file)}/${keypointIds.get(truth.names[k]!)}`)!;
        return [{ confidence: p.confidence, error: Math.hypot(p.x - point[0], p.y - point[1]) }];
      }),
    );
    const share = lowConfidenceShareOfLargeErrors(points, 0.2);
    console.log(
      `least confident 20% of ${points.length} held-out points hold ${(100 * share).toFixed(0)}% of the largest 20% errors`,
    );
    expect(share).toBeGreaterThan(0.3);
  });

  it('suggested images cover the feature space better than random picks', async () => {
    const features = await ended(
      (await t.call('runs.start', { kind: 'features', settings: { runId: trainRun.id } })).run.id,
    );
    expect(features.status).toBe('done');
    const suggested = (await t.call('review.suggest', { runId: trainRun.id, count: SUGGESTED })).map((s) => s.image.id);
    expect(suggested).toHaveLength(SUGGESTED);

    const db = new Database(path.join(ws.projectDir, 'project.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT image_id, vector FROM image_features WHERE run_id = ?').all(features.id) as {
      image_id: number;
      vector: Buffer;
    }[];
    db.close();
    const vectors = new Map(rows.map((r) => [r.image_id, new Float32Array(Uint8Array.from(r.vector).buffer)]));
    const items = (await t.call('images.list', {})).items;
    const all = items.map((i) => i.id);
    const labeled = items.filter((i) => i.labeledCount > 0).map((i) => i.id);
    const open = items.filter((i) => i.labeledCount === 0).map((i) => i.id);
    const ours = coverageDistance(vectors, all, [...labeled, ...suggested]);
    const rng = createRng(7);
    const draws = Array.from({ length: 50 }, () =>
      coverageDistance(vectors, all, [...labeled, ...rng.shuffled(open).slice(0, SUGGESTED)]),
    );
    const random = draws.reduce((a, b) => a + b, 0) / draws.length;
    console.log(
      `mean distance to the nearest labeled-or-suggested image: suggested ${ours.toFixed(4)}, random ${random.toFixed(4)}`,
    );
    expect(ours).toBeLessThan(random);
  });
});
