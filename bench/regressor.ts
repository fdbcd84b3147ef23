/**
 * Few-shot regressors: the `heatmap` head against a PyTorch network of the same kind
 * (bench/pytorch/heatmap_reference.py: same architecture, augmentation, loss, optimiser and
 * decoding) on the same procedural demo frames (640x480, object ~5% of the frame, anywhere, any
 * orientation) for the same wall-clock training budget; then training times of the `paper` head
 * and of ridge regression for 20 and 100 labels.
 *
 *   npm run bench:regressor -- [--budget 60] [--input-size 256] [--crop 128] [--train 20]
 *                              [--test 20] [--threads N] [--no-torch] [--skip-paper] [--paper-steps N]
 *                              [--seeds 1,2,3]
 *
 * Both sides train on --crop x --crop crops of the letterboxed input around the object and
 * predict on the whole input (HeatmapHeadConfig.trainCropSize; --crop 0 trains on the whole input).
 * Both sides train for --budget seconds of wall clock: the cosine schedule follows the fraction of
 * the budget spent, and training stops when it is spent. Errors are mean pixel errors in ORIGINAL frame
 * pixels over labeled points, next to the mean-shape baseline's. --seeds runs one pair (ours, then
 * PyTorch's) per seed and prints the per-pair speed ratio and the mean errors. The full comparison of the
 * issue (20 labeled frames, 10 CPU-minutes, 256 px input) is
 *   npm run bench:regressor -- --budget 600
 * (run it with the machine otherwise idle; it takes about 25 minutes).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { evaluateLandmarks, fitMeanShape, predictMeanShape } from '../src-shared/metrics.js';
import { createBackbone } from '../src-main/ml/backbones/index.js';
import { writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { formatEngineInfo, initEngine } from '../src-main/ml/engine.js';
import { fitRidge } from '../src-main/ml/heads/ridge.js';
import { predictLandmarks } from '../src-main/ml/predict.js';
import { readDatasetFolder, type DatasetFolder } from '../src-main/ml/train/demoData.js';
import type { LabeledItem } from '../src-main/ml/train/labeledExamples.js';
import { trainHeatmapHead } from '../src-main/ml/train/trainHeatmapHead.js';
import { trainPaperHead } from '../src-main/ml/train/trainPaperHead.js';

const { values: args } = parseArgs({
  options: {
    budget: { type: 'string', default: '60' },
    'input-size': { type: 'string', default: '256' },
    crop: { type: 'string', default: '128' },
    train: { type: 'string', default: '20' },
    test: { type: 'string', default: '20' },
    threads: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'skip-paper': { type: 'boolean', default: false },
    'paper-steps': { type: 'string' },
    seeds: { type: 'string', default: '1' },
  },
});
const budget = Number(args.budget);
const inputSize = Number(args['input-size']);
/** Training crop side (0: train on the whole input), as HeatmapHeadConfig.trainCropSize. */
const trainCropSize = Number(args.crop) || null;
const nTrain = Number(args.train);
const nTest = Number(args.test);
const seeds = args.seeds.split(',').map(Number);
if (seeds.some((seed) => !Number.isInteger(seed)))
  throw new Error(`--seeds takes integers, e.g. 1,2,3; got ${args.seeds}`);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const info = await initEngine(args.threads ? { threads: Number(args.threads) } : {});
console.log(`engine: ${formatEngineInfo(info)}`);
console.log(
  `load average at start: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

/** Demo data generated once per (regime, count) and reused. */
async function demo(regime: 'crop' | 'frame', count: number): Promise<DatasetFolder> {
  const dir = path.join(os.tmpdir(), `landmark-bench-${regime}-${count}`);
  if (!fs.existsSync(path.join(dir, 'labels.json'))) {
    console.log(`generating ${count} demo ${regime} images in ${dir} ...`);
    await writeDemoDataset(dir, { regime, count, seed: 2026 });
  }
  return { ...readDatasetFolder(dir), dir } as DatasetFolder & { dir: string };
}

const truthOf = (item: LabeledItem) => item.points;
const framePoints = (item: LabeledItem) =>
  item.points.map((p) => (p && p.visibility !== 'absent' ? ([p.x, p.y] as [number, number]) : null));

// ---- heatmap head vs PyTorch ---------------------------------------------------------------
const frames = (await demo('frame', nTrain + nTest)) as DatasetFolder & { dir: string };
const train = frames.items.slice(0, nTrain);
const test = frames.items.slice(nTrain, nTrain + nTest);
const k = frames.names.length;
const frame = { x: 0, y: 0, w: 640, h: 480 };
const shape = fitMeanShape(train.map((item) => ({ points: framePoints(item), frame })));
const baseline = evaluateLandmarks(
  test.map((item) => ({ predicted: predictMeanShape(shape, frame), truth: truthOf(item), referenceSize: 640 })),
  { normPair: frames.normPair },
);

interface HeatmapRun {
  label: string;
  seed: number;
  steps: number;
  seconds: number;
  cpuSeconds: number;
  imagesPerSecond: number;
  pixelError: number;
}

async function runOurs(seed: number): Promise<HeatmapRun> {
  const backbone = createBackbone({ arch: 'resnet18' }, { seed });
  const cpuStart = process.cpuUsage();
  const { model, report } = await trainHeatmapHead({
    backbone,
    items: train,
    keypointCount: k,
    flipPairs: frames.flipPairs,
    // The cosine schedule runs over the budget (runTrainLoop's budgetSeconds), however many steps fit.
    config: { inputSize, trainCropSize, steps: Number.MAX_SAFE_INTEGER, budgetSeconds: budget },
    seed,
  });
  const cpu = process.cpuUsage(cpuStart);
  const predicted = await predictLandmarks(model, test);
  const ours = evaluateLandmarks(
    predicted.predictions.map((p, i) => ({
      predicted: p.points.map((q) => [q.x, q.y] as [number, number]),
      truth: truthOf(test[i]!),
      referenceSize: 640,
    })),
    { normPair: frames.normPair },
  );
  model.dispose();
  backbone.dispose();
  return {
    label: `tfjs (${info.backend})`,
    seed,
    steps: report.losses.length,
    seconds: report.seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    imagesPerSecond: report.imagesPerSecond,
    pixelError: ours.pixelError!,
  };
}

function runTorch(seed: number): HeatmapRun | null {
  const torch = spawnSync(
    'python3',
    [
      path.join(root, 'bench/pytorch/heatmap_reference.py'),
      ...['--data', frames.dir, '--train', String(nTrain), '--test', String(nTest)],
      ...['--input-size', String(inputSize), '--crop', String(trainCropSize ?? 0), '--budget', String(budget)],
      ...['--threads', String(info.threads), '--seed', String(seed)],
    ],
    { encoding: 'utf8' },
  );
  const line = torch.stdout.trim().split('\n').pop() ?? '';
  if (torch.status !== 0 || !line.startsWith('{')) {
    console.log(`PyTorch reference failed (pip install --retries 0 torch pillow numpy):\n${torch.stderr.slice(-2000)}`);
    return null;
  }
  const r = JSON.parse(line) as Record<string, number | string>;
  return {
    label: `pytorch ${r.torch} (cpu)`,
    seed,
    steps: Number(r.steps),
    seconds: Number(r.seconds),
    cpuSeconds: Number(r.cpuSeconds),
    imagesPerSecond: Number(r.imagesPerSecond),
    pixelError: Number(r.pixelError),
  };
}

// Each seed trains ours and then PyTorch's (same seed for both inits and augmentation streams,
// not the same numbers): pairs taken back to back see about the same machine, so the per-pair
// speed ratio holds when this shared machine's speed drifts over a long run.
const runs: HeatmapRun[] = [];
const pairs: { ours: HeatmapRun; torch: HeatmapRun | null }[] = [];
for (const seed of seeds) {
  const ours = await runOurs(seed);
  const torch = args['no-torch'] ? null : runTorch(seed);
  runs.push(ours, ...(torch ? [torch] : []));
  pairs.push({ ours, torch });
  console.log(
    `seed ${seed}: ours ${ours.imagesPerSecond.toFixed(2)} images/s, ${ours.pixelError.toFixed(2)} px` +
      (torch ? `; PyTorch ${torch.imagesPerSecond} images/s, ${torch.pixelError} px` : ''),
  );
}

console.log(
  `\nheatmap head, demo frames 640x480, ${nTrain} labeled / ${nTest} held out, input ${inputSize}, training crops ${trainCropSize ?? 'none'}, budget ${budget} s`,
);
console.log('| run | seed | steps | train s | CPU s | images/s | pixel error | mean-shape baseline |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of runs)
  console.log(
    `| ${r.label} | ${r.seed} | ${r.steps} | ${r.seconds.toFixed(0)} | ${r.cpuSeconds.toFixed(0)} | ${r.imagesPerSecond.toFixed(2)} | ${r.pixelError.toFixed(2)} | ${baseline.pixelError!.toFixed(2)} |`,
  );
const complete = pairs.filter((p): p is { ours: HeatmapRun; torch: HeatmapRun } => p.torch !== null);
if (complete.length > 0) {
  const median = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const mean = (values: number[]) => values.reduce((x, y) => x + y, 0) / values.length;
  const ratios = complete.map((p) => p.ours.imagesPerSecond / p.torch.imagesPerSecond);
  const cpuRatios = complete.map(
    (p) => p.ours.imagesPerSecond / p.ours.cpuSeconds / (p.torch.imagesPerSecond / p.torch.cpuSeconds),
  );
  console.log(
    `\nspeed, ours / PyTorch images/s, per pair: ${ratios.map((r) => r.toFixed(3)).join(', ')} (median ${median(ratios).toFixed(3)}); per CPU-second: median ${median(cpuRatios).toFixed(3)}`,
  );
  console.log(
    `mean pixel error over ${complete.length} seed(s): ours ${mean(complete.map((p) => p.ours.pixelError)).toFixed(2)}, PyTorch ${mean(complete.map((p) => p.torch.pixelError)).toFixed(2)} (mean shape ${baseline.pixelError!.toFixed(2)})`,
  );
}

// ---- paper head and ridge regression: training time for 20 and 100 labels -------------------
if (!args['skip-paper']) {
  const crops = await demo('crop', 100);
  const net = createBackbone({ arch: 'resnet18' }, { seed: 1 });
  console.log(
    '\npaper head (random-init ResNet-18 hypercolumn, 96 px, default config) and ridge regression (2K = 22 inputs)',
  );
  console.log('| labels | paper head train s | steps | images/s | ridge fit ms |');
  console.log('|---|---|---|---|---|');
  for (const labels of [20, 100]) {
    const trained = await trainPaperHead({
      backbone: net,
      items: crops.items.slice(0, labels),
      keypointCount: k,
      config: args['paper-steps'] ? { steps: Number(args['paper-steps']) } : {},
    });
    trained.model.dispose();
    // Ridge from 2K discovered coordinates: random stand-ins of the right shape time the solver.
    const x = Array.from({ length: labels }, () => Array.from({ length: 2 * k }, () => Math.random() * 96));
    const y = Array.from({ length: labels }, () => Array.from({ length: 2 * k }, () => Math.random() * 96));
    const t0 = performance.now();
    fitRidge(x, y);
    const ridgeMs = performance.now() - t0;
    console.log(
      `| ${labels} | ${trained.report.seconds.toFixed(1)} | ${trained.report.losses.length} | ${trained.report.imagesPerSecond.toFixed(1)} | ${ridgeMs.toFixed(2)} |`,
    );
  }
  net.dispose();
}
console.log(
  `load average at end: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
