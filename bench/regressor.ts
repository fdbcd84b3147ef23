/**
 * Few-shot regressors: the `heatmap` head against a PyTorch network of the same kind
 * (bench/pytorch/heatmap_reference.py: same architecture, augmentation, loss and optimiser; it
 * decodes each map's argmax, ours the peaks its distance prior believes together, and ours is also
 * scored decoded as the twin decodes) for the same wall-clock training budget, on demo frames or
 * on a real labeled set; then training times of the `paper` head and of ridge regression for 20 and 100 labels.
 *
 *   npm run bench:regressor -- [--budget 60] [--input-size 256] [--crop 128] [--train 20]
 *                              [--test 20] [--threads N] [--no-torch] [--skip-paper] [--paper-steps N]
 *                              [--seeds 1,2,3] [--json results.json]
 *   npm run bench:regressor -- --data ../shared/datasets/dlc_reaching_mouse [--train 20] [--input-size N] ...
 *
 * Demo frames (640x480, object ~5% of the frame, anywhere, any orientation): both sides train on
 * --crop x --crop crops of the letterboxed input around the object and predict on the whole input
 * (HeatmapHeadConfig.trainCropSize; --crop 0 trains on the whole input), with the fixed recipe of
 * HEATMAP_HEAD_DEFAULTS.
 *
 * Real data (--data DIR: images/ + labels.json, images of any sizes): a fixed half held out (the
 * items sorted by file name, every second one), --train N labeled images from the other half in
 * a fixed order (so 5 are among the 20). Ours trains exactly what the product's `train` would:
 * the labels imported into a scratch project (flip partners from the file or the names, as the
 * importer sets them), the N images as its train split, prepareTraining (augmentation ranges
 * chosen from those labels, flips off while a sided keypoint lacks a partner, the budget as
 * `--minutes`) and the train job's heatmap-head input. The twin gets the same partners, ranges,
 * input size and training crop.
 *
 * Both sides train for --budget seconds of wall clock: the cosine schedule follows the fraction of
 * the budget spent, and training stops when it is spent. Errors are mean pixel errors in ORIGINAL
 * frame pixels over labeled points (missing points are masked out of the loss and left out of the
 * error), overall and per keypoint, next to the mean-shape baseline's. --seeds runs one pair
 * (ours, then PyTorch's) per seed and prints the per-pair speed ratio and the mean errors; --json
 * writes all of it to a file. The full comparison on demo frames (20 labeled frames, 10
 * CPU-minutes, 256 px input) is
 *   npm run bench:regressor -- --budget 600
 * (run it with the machine otherwise idle; it takes about 25 minutes).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dispatch, type ApiMethod, type ApiRequest, type ApiResponse } from '../src-shared/api.js';
import { describeAugmentation, type GeometricAugmentation } from '../src-shared/augmentRanges.js';
import type { CropBox } from '../src-shared/domain.js';
import { evaluateLandmarks, fitMeanShape, predictMeanShape, type LandmarkMetrics } from '../src-shared/metrics.js';
import { createRng } from '../src-shared/random.js';
import { heatmapTrainingConfig, heatmapTrainingInput } from '../src-main/jobs/kinds/train.js';
import { buildBackbone } from '../src-main/jobs/kinds/landmarkModel.js';
import { allItems } from '../src-main/jobs/projectData.js';
import { prepareTraining, type PreparedTraining } from '../src-main/jobs/trainRun.js';
import { createBackbone, type Backbone } from '../src-main/ml/backbones/index.js';
import { writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { formatEngineInfo, initEngine } from '../src-main/ml/engine.js';
import { fitRidge } from '../src-main/ml/heads/ridge.js';
import { predictLandmarks } from '../src-main/ml/predict.js';
import { resolveHeatmapHeadConfig, type HeatmapHeadConfig } from '../src-main/ml/train/config.js';
import { readDatasetFolder, type DatasetFolder } from '../src-main/ml/train/demoData.js';
import type { LabeledItem } from '../src-main/ml/train/labeledExamples.js';
import {
  HeatmapLandmarkModel,
  trainHeatmapHead,
  type HeatmapHeadTrainingInput,
} from '../src-main/ml/train/trainHeatmapHead.js';
import { trainPaperHead } from '../src-main/ml/train/trainPaperHead.js';
import { createServices } from '../src-main/services/index.js';
import { ANYWHERE } from '../src-main/services/pathPolicy.js';
import { ProjectStore } from '../src-main/store/projectStore.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    budget: { type: 'string', default: '60' },
    'input-size': { type: 'string' },
    crop: { type: 'string' },
    train: { type: 'string', default: '20' },
    test: { type: 'string' },
    threads: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'skip-paper': { type: 'boolean', default: false },
    'paper-steps': { type: 'string' },
    seeds: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const budget = Number(args.budget);
if (!(budget > 0)) throw new Error(`--budget takes a positive number of seconds; got ${args.budget}`);
const nTrain = Number(args.train);
if (!(Number.isInteger(nTrain) && nTrain > 0)) throw new Error(`--train takes a positive integer; got ${args.train}`);
const seeds = args.seeds.split(',').map(Number);
if (seeds.some((seed) => !Number.isInteger(seed)))
  throw new Error(`--seeds takes integers, e.g. 1,2,3; got ${args.seeds}`);
if (
  args['input-size'] !== undefined &&
  !(Number.isInteger(Number(args['input-size'])) && Number(args['input-size']) >= 32)
)
  throw new Error(`--input-size takes a whole number of pixels, 32 or more; got ${args['input-size']}`);
if (args.data !== undefined && (args.crop !== undefined || args.test !== undefined))
  throw new Error(
    '--data trains what the product trains (its training crop) and holds out a fixed half: --crop and --test apply to demo frames only',
  );
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Seeds the fixed order in which real-data mode takes training images from its half. */
const TRAIN_ORDER_SEED = 2026;

const info = await initEngine(args.threads ? { threads: Number(args.threads) } : {});
console.log(`engine: ${formatEngineInfo(info)}`);
const loadAtStart = os.loadavg();
console.log(`load average at start: ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`);

/** Demo data generated once per (regime, count) and reused. */
async function demo(regime: 'crop' | 'frame', count: number): Promise<DatasetFolder & { dir: string }> {
  const dir = path.join(os.tmpdir(), `landmark-bench-${regime}-${count}`);
  if (!fs.existsSync(path.join(dir, 'labels.json'))) {
    console.log(`generating ${count} demo ${regime} images in ${dir} ...`);
    await writeDemoDataset(dir, { regime, count, seed: 2026 });
  }
  return { ...readDatasetFolder(dir), dir };
}

const framePoints = (item: LabeledItem) =>
  item.points.map((p) => (p && p.visibility !== 'absent' ? ([p.x, p.y] as [number, number]) : null));

interface HeatmapRun {
  label: string;
  seed: number;
  steps: number;
  seconds: number;
  cpuSeconds: number;
  imagesPerSecond: number;
  pixelError: number;
  pixelErrorPerKeypoint: (number | null)[];
  /**
   * Ours only: the same model decoded as the twin decodes, each map's own peak, without the
   * distance prior (heads/distancePrior.ts): the networks compared alone.
   */
  argmax?: { pixelError: number; pixelErrorPerKeypoint: (number | null)[] };
  /** The mean-shape baseline as this side computed it (the same rule on both). */
  baselinePixelError: number;
}

/** What both sides train and are scored on. */
interface Comparison {
  /** The dataset folder the twin reads. */
  dir: string;
  names: string[];
  normPair: [number, number] | null;
  train: LabeledItem[];
  test: LabeledItem[];
  /** Original frame of each labeled item (by id): the baseline's frame and the PCK reference. */
  frameOf: (item: LabeledItem) => CropBox;
  /** The twin's arguments for its data, split, input, crop and augmentation. */
  torchArgs: string[];
  /** Ours, trained with `seed`: the training input, and what to dispose after. */
  trainingInput: (seed: number) => { input: HeatmapHeadTrainingInput; backbone: Backbone };
  /** One line on what is compared, for the table's heading. */
  heading: string;
}

function scoreOf(c: Comparison, predicted: [number, number][][]): LandmarkMetrics {
  return evaluateLandmarks(
    c.test.map((item, i) => {
      const frame = c.frameOf(item);
      return { predicted: predicted[i]!, truth: item.points, referenceSize: Math.max(frame.w, frame.h) };
    }),
    { normPair: c.normPair },
  );
}

async function runOurs(c: Comparison, seed: number): Promise<HeatmapRun> {
  const { input, backbone } = c.trainingInput(seed);
  const cpuStart = process.cpuUsage();
  const { model, report } = await trainHeatmapHead(input);
  const cpu = process.cpuUsage(cpuStart);
  const score = async (predictor: HeatmapLandmarkModel) => {
    const predicted = await predictLandmarks(predictor, c.test);
    if (predicted.problems.length > 0) throw new Error(`held-out images failed: ${predicted.problems.join('; ')}`);
    return scoreOf(
      c,
      predicted.predictions.map((p) => p.points.map((q) => [q.x, q.y] as [number, number])),
    );
  };
  const ours = await score(model);
  const argmax = await score(new HeatmapLandmarkModel(model.head, model.inputSize));
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
    pixelErrorPerKeypoint: ours.pixelErrorPerKeypoint,
    argmax: { pixelError: argmax.pixelError!, pixelErrorPerKeypoint: argmax.pixelErrorPerKeypoint },
    baselinePixelError: baseline(c).pixelError!,
  };
}

/** The mean-shape baseline: each keypoint's mean frame-relative training position. */
function baseline(c: Comparison): LandmarkMetrics {
  const shape = fitMeanShape(c.train.map((item) => ({ points: framePoints(item), frame: c.frameOf(item) })));
  return scoreOf(
    c,
    c.test.map((item) => predictMeanShape(shape, c.frameOf(item))),
  );
}

function runTorch(c: Comparison, seed: number): HeatmapRun | null {
  const torch = spawnSync(
    'python3',
    [
      path.join(root, 'bench/pytorch/heatmap_reference.py'),
      ...c.torchArgs,
      ...['--budget', String(budget), '--threads', String(info.threads), '--seed', String(seed)],
    ],
    { encoding: 'utf8' },
  );
  const line = torch.stdout.trim().split('\n').pop() ?? '';
  if (torch.status !== 0 || !line.startsWith('{')) {
    console.log(`PyTorch reference failed (pip install --retries 0 torch pillow numpy):\n${torch.stderr.slice(-2000)}`);
    return null;
  }
  const r = JSON.parse(line) as Record<string, number | string | (number | null)[]>;
  return {
    label: `pytorch ${String(r.torch)} (cpu)`,
    seed,
    steps: Number(r.steps),
    seconds: Number(r.seconds),
    cpuSeconds: Number(r.cpuSeconds),
    imagesPerSecond: Number(r.imagesPerSecond),
    pixelError: Number(r.pixelError),
    pixelErrorPerKeypoint: r.pixelErrorPerKeypoint as (number | null)[],
    baselinePixelError: Number(r.baselinePixelError),
  };
}

const mean = (values: number[]) => values.reduce((x, y) => x + y, 0) / values.length;
const fixed = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined ? '-' : value.toFixed(digits);
/** Per keypoint, the mean over runs of the errors they have. */
const meanPerKeypoint = (runs: HeatmapRun[], k: number): (number | null)[] =>
  Array.from({ length: k }, (_, j) => {
    const values = runs
      .map((r) => r.pixelErrorPerKeypoint[j])
      .filter((v): v is number => v !== null && v !== undefined);
    return values.length ? mean(values) : null;
  });

/**
 * Each seed trains ours and then PyTorch's (same seed for both inits and augmentation streams,
 * not the same numbers): pairs taken back to back see about the same machine, so the per-pair
 * speed ratio holds when this shared machine's speed drifts over a long run.
 */
async function compare(c: Comparison) {
  const k = c.names.length;
  const base = baseline(c);
  const pairs: { ours: HeatmapRun; torch: HeatmapRun | null }[] = [];
  for (const seed of seeds) {
    const ours = await runOurs(c, seed);
    const torch = args['no-torch'] ? null : runTorch(c, seed);
    pairs.push({ ours, torch });
    console.log(
      `seed ${seed}: ours ${ours.imagesPerSecond.toFixed(2)} images/s, ${ours.pixelError.toFixed(2)} px (argmax ${fixed(ours.argmax?.pixelError)})` +
        (torch ? `; PyTorch ${torch.imagesPerSecond} images/s, ${torch.pixelError} px` : ''),
    );
  }
  /** Ours decoded as the twin decodes: a row of its own in the tables. */
  const argmaxRow = (r: HeatmapRun): HeatmapRun => ({ ...r, ...r.argmax!, label: `${r.label}, argmax decoding` });
  const runs = pairs.flatMap((p) => [p.ours, argmaxRow(p.ours), ...(p.torch ? [p.torch] : [])]);

  console.log(`\n${c.heading}, budget ${budget} s`);
  console.log('| run | seed | steps | train s | CPU s | images/s | pixel error | mean-shape baseline |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of runs)
    console.log(
      `| ${r.label} | ${r.seed} | ${r.steps} | ${r.seconds.toFixed(0)} | ${r.cpuSeconds.toFixed(0)} | ${r.imagesPerSecond.toFixed(2)} | ${r.pixelError.toFixed(2)} | ${r.baselinePixelError.toFixed(2)} |`,
    );
  console.log(`\nheld-out pixel error per keypoint`);
  console.log(`| run | seed | ${c.names.join(' | ')} |`);
  console.log(`|---|---|${c.names.map(() => '---|').join('')}`);
  for (const r of runs)
    console.log(`| ${r.label} | ${r.seed} | ${r.pixelErrorPerKeypoint.map((e) => fixed(e)).join(' | ')} |`);
  console.log(`| mean shape | - | ${base.pixelErrorPerKeypoint.map((e) => fixed(e)).join(' | ')} |`);

  const complete = pairs.filter((p): p is { ours: HeatmapRun; torch: HeatmapRun } => p.torch !== null);
  let summary = null;
  if (complete.length > 0) {
    const ratios = complete.map((p) => p.ours.imagesPerSecond / p.torch.imagesPerSecond);
    const cpuRatios = complete.map(
      (p) => p.ours.imagesPerSecond / p.ours.cpuSeconds / (p.torch.imagesPerSecond / p.torch.cpuSeconds),
    );
    summary = {
      speedRatios: ratios,
      medianSpeedRatio: median(ratios),
      medianSpeedRatioPerCpuSecond: median(cpuRatios),
      meanPixelError: {
        ours: mean(complete.map((p) => p.ours.pixelError)),
        oursArgmax: mean(complete.map((p) => p.ours.argmax!.pixelError)),
        torch: mean(complete.map((p) => p.torch.pixelError)),
      },
      meanPixelErrorPerKeypoint: {
        ours: meanPerKeypoint(
          complete.map((p) => p.ours),
          k,
        ),
        oursArgmax: meanPerKeypoint(
          complete.map((p) => argmaxRow(p.ours)),
          k,
        ),
        torch: meanPerKeypoint(
          complete.map((p) => p.torch),
          k,
        ),
      },
    };
    console.log(
      `\nspeed, ours / PyTorch images/s, per pair: ${ratios.map((r) => r.toFixed(3)).join(', ')} (median ${summary.medianSpeedRatio.toFixed(3)}); per CPU-second: median ${summary.medianSpeedRatioPerCpuSecond.toFixed(3)}`,
    );
    console.log(
      `mean pixel error over ${complete.length} seed(s): ours ${summary.meanPixelError.ours.toFixed(2)} (argmax decoding ${summary.meanPixelError.oursArgmax.toFixed(2)}), PyTorch ${summary.meanPixelError.torch.toFixed(2)} (mean shape ${base.pixelError!.toFixed(2)})`,
    );
    const perKeypoint = (values: (number | null)[]) => c.names.map((n, j) => `${n} ${fixed(values[j])}`).join(', ');
    console.log(`  per keypoint, ours: ${perKeypoint(summary.meanPixelErrorPerKeypoint.ours)}`);
    console.log(`  per keypoint, ours, argmax decoding: ${perKeypoint(summary.meanPixelErrorPerKeypoint.oursArgmax)}`);
    console.log(`  per keypoint, PyTorch: ${perKeypoint(summary.meanPixelErrorPerKeypoint.torch)}`);
  }
  return {
    budgetSeconds: budget,
    baseline: { pixelError: base.pixelError, pixelErrorPerKeypoint: base.pixelErrorPerKeypoint },
    pairs,
    summary,
  };
}

/** Demo frames, the fixed recipe (HEATMAP_HEAD_DEFAULTS) on both sides. */
async function demoComparison(): Promise<Comparison> {
  const inputSize = Number(args['input-size'] ?? 256);
  /** Training crop side (0: train on the whole input), as HeatmapHeadConfig.trainCropSize. */
  const trainCropSize = Number(args.crop ?? 128) || null;
  const nTest = Number(args.test ?? 20);
  const frames = await demo('frame', nTrain + nTest);
  return {
    dir: frames.dir,
    names: frames.names,
    normPair: frames.normPair,
    train: frames.items.slice(0, nTrain),
    test: frames.items.slice(nTrain, nTrain + nTest),
    frameOf: () => ({ x: 0, y: 0, w: 640, h: 480 }),
    torchArgs: [
      ...['--data', frames.dir, '--train', String(nTrain), '--test', String(nTest)],
      ...['--input-size', String(inputSize), '--crop', String(trainCropSize ?? 0)],
    ],
    trainingInput: (seed) => {
      const backbone = createBackbone({ arch: 'resnet18' }, { seed });
      return {
        backbone,
        input: {
          backbone,
          items: frames.items.slice(0, nTrain),
          keypointCount: frames.names.length,
          flipPairs: frames.flipPairs,
          // The cosine schedule runs over the budget (runTrainLoop's budgetSeconds), however many steps fit.
          config: { inputSize, trainCropSize, steps: Number.MAX_SAFE_INTEGER, budgetSeconds: budget },
          seed,
        },
      };
    },
    heading: `heatmap head, demo frames 640x480, ${nTrain} labeled / ${nTest} held out, input ${inputSize}, training crops ${trainCropSize ?? 'none'}`,
  };
}

/** The twin's fixed recipe, where ours may differ from it (the levers of issue 16 point 6). */
const TWIN_RECIPE: Partial<Record<keyof HeatmapHeadConfig, unknown>> = {
  learningRate: 1e-3,
  weightDecay: 1e-4,
  batchSize: 8,
  backboneStage: 'conv3_x',
  fineTune: 'all',
  decoderChannels: 64,
  outputStride: 4,
  sigma: 1.5,
};

/** The twin's arguments for a run's geometric augmentation. */
function augmentationArgs(a: GeometricAugmentation): string[] {
  return [
    ...['--flip', a.flip ? 'on' : 'off', '--rotation', String(a.rotationDegrees), '--scale', a.scale.join(',')],
    ...['--translate', a.translate === 'anywhere' ? 'anywhere' : a.translate.join(',')],
  ];
}

/** A real labeled set, split and trained as described at the top. */
async function realComparison(dir: string) {
  const dataset = readDatasetFolder(dir);
  const files = dataset.items.map((item) => String(item.id)).sort();
  const repeated = files.find((file, i) => files[i + 1] === file);
  if (repeated !== undefined)
    throw new Error(
      `${dir}/labels.json has several items for ${repeated}: the real-data mode takes one labeled animal per image`,
    );
  const heldOut = files.filter((_, i) => i % 2 === 1);
  const trainOrder = createRng(TRAIN_ORDER_SEED).shuffled(files.filter((_, i) => i % 2 === 0));
  if (nTrain > trainOrder.length)
    throw new Error(`--train ${nTrain}: the training half of ${dir} has ${trainOrder.length} images`);
  const trainFiles = trainOrder.slice(0, nTrain);
  console.log(`held out (every second file by name, ${heldOut.length}): ${heldOut.join(' ')}`);
  console.log(`training half in its fixed order (${trainOrder.length}): ${trainOrder.join(' ')}`);
  console.log(`training on the first ${nTrain}`);

  // The product's own path: a scratch project over the images, the labels imported as a user
  // would, and the N training images alone in its train split.
  const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-real-'));
  // Removed however the bench ends, a failed import or training included.
  process.on('exit', () => fs.rmSync(projectDir, { recursive: true, force: true }));
  const services = createServices({ paths: ANYWHERE });
  const call = <M extends ApiMethod>(method: M, req: ApiRequest<M>) =>
    dispatch(services.handlers, method, req) as Promise<ApiResponse<M>>;
  try {
    await call('project.create', { projectDir, imageRoot: path.resolve(dir, 'images') });
    const report = await call('io.import', { format: 'labels', file: path.resolve(dir, 'labels.json') });
    if (report.images !== files.length)
      throw new Error(
        `importing ${dir}/labels.json labeled ${report.images} of its ${files.length} images` +
          (report.unmatched.length ? `; no image file for ${report.unmatched.slice(0, 5).join(', ')}` : ''),
      );
    for (const warning of report.warnings ?? []) console.log(`import: ${warning}`);
    console.log(
      `flip partners as imported: ${report.flipPairs.map((p) => `${p.left}/${p.right} (${p.source})`).join(', ') || 'none'}` +
        (report.unpairedSides.length ? `; sided, unpaired: ${report.unpairedSides.map((u) => u.name).join(', ')}` : ''),
    );
    const trainSet = new Set(trainFiles);
    await call('images.split', { testImages: files.filter((file) => !trainSet.has(file)) });
  } finally {
    services.close();
  }
  const store = ProjectStore.open(projectDir);
  const sizes = new Map(allItems(store).map((item) => [item.relPath, { x: 0, y: 0, w: item.width, h: item.height }]));
  const size = args['input-size'] === undefined ? {} : { size: Number(args['input-size']) };
  const prepare = (seed: number): PreparedTraining =>
    prepareTraining(store, {
      head: 'heatmap',
      backbone: 'resnet18',
      features: 'random',
      labels: nTrain,
      seed,
      minutes: budget / 60,
      ...size,
    });
  // Everything but the seed is the same for every seed: the labels, partners and ranges.
  const prepared = prepare(seeds[0]!);
  if (JSON.stringify(prepared.config.keypointNames) !== JSON.stringify(dataset.names))
    throw new Error(
      `the project's keypoints are not labels.json's names in order: ${String(prepared.config.keypointNames)}`,
    );
  const augmentation = prepared.augmentation!;
  const config = resolveHeatmapHeadConfig(heatmapTrainingConfig(prepared));
  for (const warning of prepared.warnings) console.log(`warning: ${warning}`);
  console.log(`augmentation chosen from the ${nTrain} training labels: ${describeAugmentation(augmentation)}`);
  const differences = Object.entries(TWIN_RECIPE)
    .filter(([key, value]) => config[key as keyof HeatmapHeadConfig] !== value)
    .map(([key, value]) => `${key} ${String(config[key as keyof HeatmapHeadConfig])} (twin ${String(value)})`);
  if (differences.length) console.log(`ours differs from the twin's fixed recipe in: ${differences.join(', ')}`);

  const byFile = new Map(dataset.items.map((item) => [String(item.id), item]));
  const splitFile = path.join(projectDir, 'bench-split.json');
  fs.writeFileSync(splitFile, JSON.stringify({ train: trainFiles, test: heldOut }));
  const comparison: Comparison = {
    dir,
    names: dataset.names,
    normPair: dataset.normPair,
    train: trainFiles.map((file) => byFile.get(file)!),
    test: heldOut.map((file) => byFile.get(file)!),
    frameOf: (item) => sizes.get(String(item.id))!,
    torchArgs: [
      ...['--data', dir, '--split', splitFile, '--input-size', String(config.inputSize)],
      ...['--crop', String(config.trainCropSize ?? 0), '--flip-pairs', JSON.stringify(prepared.flipPairs)],
      ...augmentationArgs(augmentation),
    ],
    trainingInput: (seed) => {
      const run = prepare(seed);
      const backbone = buildBackbone(run.spec, run.features);
      return { backbone, input: heatmapTrainingInput({ ...run, cacheDir: store.cacheDir }, backbone) };
    },
    heading: `heatmap head, ${path.basename(path.resolve(dir))}: ${nTrain} labeled / ${heldOut.length} held out, input ${config.inputSize}, training crops ${config.trainCropSize ?? 'none'}, ${describeAugmentation(augmentation)}`,
  };
  return {
    comparison,
    setup: {
      trainFiles,
      heldOut,
      flipPairs: prepared.flipPairs.map(([a, b]) => [dataset.names[a], dataset.names[b]]),
      augmentation,
      labeledSpread: prepared.config.labeledSpread ?? null,
      warnings: prepared.warnings,
      differencesFromTwin: differences,
    },
    close: () => store.close(),
  };
}

// ---- heatmap head vs PyTorch ---------------------------------------------------------------
let results: Record<string, unknown>;
if (args.data !== undefined) {
  const real = await realComparison(args.data);
  try {
    results = { data: path.resolve(args.data), train: nTrain, ...real.setup, ...(await compare(real.comparison)) };
  } finally {
    real.close();
  }
} else {
  const comparison = await demoComparison();
  results = { data: 'demo frames', train: nTrain, test: comparison.test.length, ...(await compare(comparison)) };
}

// ---- paper head and ridge regression: training time for 20 and 100 labels -------------------
if (!args['skip-paper']) {
  const crops = await demo('crop', 100);
  const k = crops.names.length;
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
const loadAtEnd = os.loadavg();
console.log(`load average at end: ${loadAtEnd.map((l) => l.toFixed(1)).join(' ')}`);
if (args.json !== undefined) {
  const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAtStart, loadAtEnd };
  const file = path.resolve(args.json);
  // bench/README's commands write under bench/results/, which a fresh clone does not have
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), engine: formatEngineInfo(info), machine, ...results }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}
