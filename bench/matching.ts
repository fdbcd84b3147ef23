/**
 * The matching benchmark (issue 18 point 7; paper 001 Tab. 1's protocol on our data). Per dataset
 * (demo crops, demo frames, optionally ../shared/datasets/dlc_reaching_mouse):
 *   1. features: a random-init ResNet-18, MoCo v2 and dense contrastive pretraining on the
 *      project's images (`--pretrain-minutes` each), and projections (paper 001 Sec. 3.2) of
 *      d = `--dims` over the hypercolumns of `--project` (`--projection-minutes` each);
 *   2. matching.evaluate: mean pixel error of the nearest-neighbour match of every labeled point,
 *      `--pairs` same-instance pairs (the image against a TPS warp of itself) and as many
 *      different-instance pairs (two labeled images);
 *   3. label propagation from 1, 5 and 20 labeled images (k = 5) to held-out labeled images, with the
 *      best features of step 2 and with the backbone of the heatmap head trained on those same
 *      labels (`--head-steps` steps at its default input size; 0 skips it), against the head's own
 *      predictions and the mean-shape baseline fitted on the same labels.
 * Everything goes through the API (the same services, jobs and worker processes as the app).
 *
 *   npm run bench:matching -- [--regimes crop,frame] [--dlc] [--features random,moco,dense-contrastive]
 *     [--pretrain-minutes 1] [--projection-minutes 0.5] [--dims 64,128,256] [--project random,moco,dense-contrastive]
 *     [--pairs 40] [--head-steps 300] [--json out.json]
 * `--features` names the feature sources measured (projections only over those: `--project`).
 *
 * CPU only on a shared 2-core machine: budgets are short; the numbers compare features with each
 * other, not with the paper's (MAFL faces, 800 epochs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { MatchingEvaluation } from '../src-shared/domain.js';
import { fitMeanShape, predictMeanShape } from '../src-shared/metrics.js';
import type { Point } from '../src-shared/geometry.js';
import { createDemoProject } from '../src-main/cli/commands/demo.js';
import { openSession, type Session } from '../src-main/cli/session.js';
import { itemFrame } from '../src-main/jobs/projectData.js';

const { values: args } = parseArgs({
  options: {
    regimes: { type: 'string', default: 'crop,frame' },
    dlc: { type: 'boolean', default: false },
    'pretrain-minutes': { type: 'string', default: '1' },
    'projection-minutes': { type: 'string', default: '0.5' },
    dims: { type: 'string', default: '64,128,256' },
    features: { type: 'string', default: 'random,moco,dense-contrastive' },
    project: { type: 'string', default: 'random,moco,dense-contrastive' },
    pairs: { type: 'string', default: '40' },
    'head-steps': { type: 'string', default: '300' },
    json: { type: 'string' },
  },
});
const pretrainMinutes = Number(args['pretrain-minutes']);
const projectionMinutes = Number(args['projection-minutes']);
const dims = args.dims.split(',').map(Number);
const featureBases = new Set(args.features.split(',').filter(Boolean));
const knownFeatures = ['random', 'moco', 'dense-contrastive'];
if (featureBases.size === 0 || [...featureBases].some((f) => !knownFeatures.includes(f)))
  throw new Error(`--features takes one or more of ${knownFeatures.join(', ')}; got "${args.features}"`);
const projected = new Set(args.project.split(','));
const pairs = Number(args.pairs);
const headSteps = Number(args['head-steps']);
if (!Number.isInteger(headSteps) || headSteps < 0)
  throw new Error(`--head-steps takes a whole number; got "${args['head-steps']}"`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-matching-'));

interface Row {
  dataset: string;
  features: string;
  /** What matching.evaluate was given. */
  id: number | 'random';
  dim: number | null;
  same: number;
  different: number;
  seconds: number;
}
interface PropagationRow {
  dataset: string;
  labels: number;
  /** Propagation with the best features of the matching table. */
  propagation: number;
  /** Propagation with the backbone of the heatmap head trained on the same labels; null: not run. */
  propagationHeadFeatures: number | null;
  /** That head's own predictions. */
  head: number | null;
  meanShape: number;
  targets: number;
}
const rows: Row[] = [];
const propagation: PropagationRow[] = [];

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');

async function evaluate(
  session: Session,
  dataset: string,
  name: string,
  features: number | 'random',
  dim: number | null,
) {
  const e: MatchingEvaluation = await session.call('matching.evaluate', { features, pairs, seed: 1 });
  const row = {
    dataset,
    features: name,
    id: features,
    dim,
    same: e.same.meanError,
    different: e.different.meanError,
    seconds: e.seconds,
  };
  rows.push(row);
  console.log(
    `  ${name.padEnd(34)} d=${String(dim ?? '-').padEnd(4)} same ${fmt(row.same).padStart(7)}  different ${fmt(row.different).padStart(7)}  (${e.seconds.toFixed(0)} s)`,
  );
}

/** Labeled points (in keypoint order, null where not visible) and frame of labeled images. */
type Truth = {
  keypoints: number[];
  images: Map<number, { points: (Point | null)[]; frame: ReturnType<typeof itemFrame> }>;
};

async function readTruth(session: Session, imageIds: readonly number[]): Promise<Truth> {
  const keypoints = (await session.call('schema.get', {})).keypoints.map((k) => k.id);
  const images: Truth['images'] = new Map();
  for (const id of imageIds) {
    const { image, annotations } = await session.call('images.get', { imageId: id });
    const byKp = new Map(annotations.filter((a) => a.visibility === 'visible').map((a) => [a.keypointId, a]));
    images.set(id, {
      points: keypoints.map((k) => (byKp.has(k) ? ([byKp.get(k)!.x, byKp.get(k)!.y] as Point) : null)),
      frame: itemFrame(image),
    });
  }
  return { keypoints, images };
}

/** Propagation from `from` to `targets` with `features`: its mean error, and the mean shape's of `from`'s labels. */
async function propagate(
  session: Session,
  { keypoints, images: truth }: Truth,
  features: number | 'random',
  from: number[],
  targets: number[],
): Promise<{ propagation: number; meanShape: number; targets: number }> {
  const shape = fitMeanShape(from.map((id) => truth.get(id)!));
  const { predictions } = await session.call('matching.propagate', {
    features,
    imageIds: targets,
    fromImageIds: from,
    k: 5,
  });
  const errors = { propagation: [] as number[], meanShape: [] as number[] };
  for (const p of predictions) {
    const t = truth.get(p.imageId)!;
    const baseline = predictMeanShape(shape, t.frame);
    keypoints.forEach((k, i) => {
      const gt = t.points[i];
      const predicted = p.points.find((q) => q.keypointId === k);
      if (!gt || !predicted) return;
      errors.propagation.push(Math.hypot(predicted.x - gt[0], predicted.y - gt[1]));
      errors.meanShape.push(Math.hypot(baseline[i]![0] - gt[0], baseline[i]![1] - gt[1]));
    });
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
  return { propagation: mean(errors.propagation), meanShape: mean(errors.meanShape), targets: predictions.length };
}

/**
 * Per label count: the heatmap head trained on that many labels (its seeded subset), propagation
 * from the same labels with the best features and with the head's backbone, and the head itself.
 */
async function propagationRows(session: Session, dataset: string, best: number | 'random'): Promise<void> {
  const { items } = await session.call('images.list', { filter: 'labeled', limit: 100_000 });
  const train = items.filter((i) => i.split !== 'test').map((i) => i.id);
  const test = items.filter((i) => i.split === 'test').map((i) => i.id);
  const truth = await readTruth(
    session,
    items.map((i) => i.id),
  );
  for (const n of [1, 5, 20].filter((c) => c <= train.length)) {
    let from = train.slice(0, n);
    let head: { runId: number; error: number } | null = null;
    if (headSteps > 0) {
      const run = await session.call('runs.train', { head: 'heatmap', labels: n, steps: headSteps, seed: 1 });
      from = run.config.labeledImageIds as number[];
      const evaluation = await session.call('runs.evaluate', { runId: run.id, split: 'test' });
      head = { runId: run.id, error: evaluation.model.pixelError ?? Number.NaN };
    }
    const withBest = await propagate(session, truth, best, from, test);
    const withHead = head ? await propagate(session, truth, head.runId, from, test) : null;
    const row: PropagationRow = {
      dataset,
      labels: n,
      propagation: withBest.propagation,
      propagationHeadFeatures: withHead?.propagation ?? null,
      head: head?.error ?? null,
      meanShape: withBest.meanShape,
      targets: withBest.targets,
    };
    propagation.push(row);
    console.log(
      `  from ${String(n).padStart(2)} labels: propagation ${fmt(row.propagation)} px, with the head's backbone ${fmt(row.propagationHeadFeatures ?? Number.NaN)} px, the head ${fmt(row.head ?? Number.NaN)} px, mean shape ${fmt(row.meanShape)} px (${row.targets} held-out images)`,
    );
  }
}

async function pretrain(session: Session, settings: Record<string, unknown>): Promise<number> {
  const run = await session.call('runs.pretrain', settings as never);
  return run.id;
}

async function benchDataset(session: Session, dataset: string): Promise<void> {
  console.log(`\n${dataset}`);
  const features: { name: string; id: number | 'random'; base: string }[] = featureBases.has('random')
    ? [{ name: 'random init', id: 'random', base: 'random' }]
    : [];
  for (const method of (['moco', 'dense-contrastive'] as const).filter((m) => featureBases.has(m))) {
    const id = await pretrain(session, {
      method,
      backbone: 'resnet18',
      minutes: pretrainMinutes,
      ...(method === 'moco' ? { size: 64, batch: 16, queue: 256 } : {}),
    });
    features.push({ name: `${method} (${pretrainMinutes} min)`, id, base: method });
  }
  for (const f of features) {
    await evaluate(session, dataset, `${f.name} hypercolumn`, f.id, null);
    if (!projected.has(f.base)) continue;
    for (const dim of dims) {
      const id = await pretrain(session, { method: 'projection', features: f.id, dim, minutes: projectionMinutes });
      await evaluate(session, dataset, `${f.name} + projection (${projectionMinutes} min)`, id, dim);
    }
  }
  // Label propagation with the features of the best different-instance error.
  const mine = rows.filter((r) => r.dataset === dataset);
  const best = mine.reduce((a, b) => (b.different < a.different ? b : a));
  console.log(`  label propagation with: ${best.features}${best.dim ? ` d=${best.dim}` : ''}`);
  await propagationRows(session, dataset, best.id);
}

async function main(): Promise<void> {
  const session = openSession(root);
  const started = Date.now();
  try {
    const engine = await session.call('engine.info', {});
    console.log(`matching benchmark, backend ${engine.backend} (${engine.device}, ${engine.threads} threads)`);
    for (const regime of args.regimes.split(',').filter(Boolean) as ('crop' | 'frame')[]) {
      await createDemoProject(session, path.join(root, regime), { regime, labels: 20, testImages: 20, seed: 11 });
      await benchDataset(session, `demo ${regime}s`);
    }
    if (args.dlc) {
      const dlc = path.resolve(import.meta.dirname, '../../shared/datasets/dlc_reaching_mouse');
      if (!fs.existsSync(dlc)) console.log(`\n(skipped: ${dlc} is absent)`);
      else {
        await session.call('project.create', {
          projectDir: path.join(root, 'dlc'),
          imageRoot: path.join(dlc, 'images'),
        });
        await session.call('io.import', {
          format: 'dlc',
          file: path.join(dlc, 'CollectedData_Mackenzie.csv'),
          configFile: path.join(dlc, 'config.yaml'),
        });
        await session.call('images.split', { testFraction: 0.3, seed: 1 });
        await benchDataset(session, 'dlc_reaching_mouse');
      }
    }
  } finally {
    await session.close();
  }
  console.log(`\n${((Date.now() - started) / 60_000).toFixed(1)} min`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ rows, propagation }, null, 2));
  fs.rmSync(root, { recursive: true, force: true });
}

await main();
