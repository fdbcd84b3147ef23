import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiClient } from '../../../src-shared/api.js';
import type { EvaluationReport, TrainHead } from '../../../src-shared/domain.js';
import { stringOption, UsageError, type CliContext, type Command } from '../command.js';
import { dataHome } from '../paths.js';
import type { Session } from '../session.js';
import { formatEvaluation } from './evaluate.js';
import { writeEvaluationReport } from './report-file.js';
import { choiceOption, integerOption, SEED_RANGE } from './run-options.js';

/** What the demo does for one regime of the procedural generator (ml/demo). */
interface DemoPlan {
  regime: 'frame' | 'crop';
  head: TrainHead;
  /** Labeled training images (the few-shot budget). */
  labels: number;
  /** Held-out images, labeled from the generator's ground truth for scoring only. */
  testImages: number;
  size: number;
  steps: number;
  /**
   * The short pretraining (the default method, dense contrastive, at its default view size) whose
   * features are compared with random init: on `images` generated unlabeled images of the
   * regime, for `minutes`.
   */
  pretrain: { images: number; minutes: number };
  describe: string;
}

/**
 * Full frames get the heatmap head (a small critter anywhere, any orientation); aligned crops
 * the paper head on frozen features. Sizes and steps keep the whole demo to a few minutes on a
 * 2-core CPU; --quick is the CI-sized version.
 */
const PLANS: Record<'full' | 'quick', Record<DemoPlan['regime'], DemoPlan>> = {
  full: {
    frame: {
      regime: 'frame',
      head: 'heatmap',
      labels: 20,
      testImages: 40,
      size: 256,
      steps: 300,
      pretrain: { images: 200, minutes: 1.5 },
      describe: '640x480 frames, a small critter anywhere at any angle',
    },
    crop: {
      regime: 'crop',
      head: 'paper',
      labels: 20,
      testImages: 40,
      size: 96,
      steps: 200,
      pretrain: { images: 400, minutes: 1.5 },
      describe: '112x112 aligned crops, critter centred and upright',
    },
  },
  quick: {
    frame: {
      regime: 'frame',
      head: 'heatmap',
      labels: 20,
      testImages: 12,
      size: 128,
      steps: 60,
      pretrain: { images: 40, minutes: 0.25 },
      describe: '640x480 frames, a small critter anywhere at any angle (quick run)',
    },
    crop: {
      regime: 'crop',
      head: 'paper',
      labels: 20,
      testImages: 12,
      size: 96,
      steps: 80,
      pretrain: { images: 40, minutes: 0.25 },
      describe: '112x112 aligned crops, critter centred and upright (quick run)',
    },
  },
};

const MARKER = '.landmark-studio-demo';

/** Empties the output folder, refusing one that holds something other than an earlier demo. */
async function prepareOutput(out: string): Promise<void> {
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(path.join(out, MARKER))) {
    throw new UsageError(`--out ${out} is not empty and not an earlier demo: choose a new or empty folder.`, 'demo');
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(
    path.join(out, MARKER),
    'Landmark Studio demo output: deleted and rewritten by the next `landmark-studio demo`.\n',
  );
}

export interface DemoProjectOptions {
  regime: DemoPlan['regime'];
  labels: number;
  testImages: number;
  seed: number;
  /** Progress of the image generation. */
  onImage?: (done: number, total: number) => void;
}

/**
 * A project over freshly generated demo images in `dir` (dataset/, project/), labeled through
 * the labels.json importer and split with the held-out images as test: what a user would do.
 * The first `labels` images are for training; the test images carry their ground truth too.
 */
export async function createDemoProject(
  client: ApiClient,
  dir: string,
  options: DemoProjectOptions,
): Promise<{ testFiles: string[] }> {
  const datasetDir = path.join(dir, 'dataset');
  const total = options.labels + options.testImages;
  // Loaded here: the generator brings sharp, a native module that --help should not load.
  const { importableLabelsJson, writeDemoDataset } = await import('../../ml/demo/writeDataset.js');
  const labels = await writeDemoDataset(datasetDir, {
    regime: options.regime,
    count: total,
    seed: options.seed,
    onProgress: options.onImage,
  });
  const files = labels.items.map((item) => item.file);
  const testFiles = files.slice(options.labels);
  const labelsFile = path.join(dir, 'labels.json');
  await writeFile(labelsFile, importableLabelsJson(labels, new Set(files)));
  await writeFile(path.join(dir, 'test-images.txt'), `${testFiles.join('\n')}\n`);
  await client.call('project.create', {
    projectDir: path.join(dir, 'project'),
    imageRoot: path.join(datasetDir, 'images'),
    name: `Demo (${options.regime})`,
  });
  await client.call('io.import', { format: 'labels', file: labelsFile });
  await client.call('images.split', { testImages: testFiles, seed: options.seed });
  return { testFiles };
}

/** A model of the demo and its held-out evaluation. */
interface DemoResult {
  label: string;
  evaluation: EvaluationReport;
}

/** Seed offset of the unlabeled pretraining images: other critters than the labeled ones. */
const UNLABELED_SEED_OFFSET = 7919;

async function runRegime(
  ctx: CliContext,
  session: Session,
  plan: DemoPlan,
  dir: string,
  seed: number,
): Promise<{ results: DemoResult[]; report: string }> {
  const started = performance.now();
  ctx.print(
    `== ${plan.regime} regime: ${plan.describe}; ${plan.labels} labeled training images, ${plan.testImages} held out`,
  );
  const total = plan.labels + plan.testImages;
  await createDemoProject(session, dir, {
    regime: plan.regime,
    labels: plan.labels,
    testImages: plan.testImages,
    seed,
    onImage: (done) => session.progress.emit({ task: `generate ${plan.regime} images`, done, total }),
  });
  const info = await session.call('project.info', {});
  ctx.print(
    `Imported ${info.counts.annotations} points on ${info.counts.labeledImages} images (${plan.labels} to train on, ${plan.testImages} held out for testing)`,
  );

  // A folder of unlabeled images of the same kind, as a user's own collection would be.
  const { images: count, minutes } = plan.pretrain;
  const unlabeled = path.join(dir, 'unlabeled');
  const { writeDemoDataset } = await import('../../ml/demo/writeDataset.js');
  await writeDemoDataset(unlabeled, {
    regime: plan.regime,
    count,
    seed: seed + UNLABELED_SEED_OFFSET,
    onProgress: (done) => session.progress.emit({ task: 'generate unlabeled images', done, total: count }),
  });
  const pretrainRun = await session.call('runs.pretrain', {
    folder: path.join(unlabeled, 'images'),
    backbone: 'resnet18',
    minutes,
    seed,
  });
  const m = pretrainRun.metrics ?? {};
  const num = (v: unknown): string => (typeof v === 'number' ? v.toFixed(3) : '-');
  const pretraining = `${pretrainRun.method} (resnet18, ${String(pretrainRun.config.inputSize)} px views)`;
  ctx.print(
    `Pretrained ${pretraining} on ${count} unlabeled images for ${minutes} min: ${String(m.steps)} steps, loss ${num(m.finalLoss)} (chance ${num(m.chanceLoss)}): run ${pretrainRun.id}`,
  );

  const results: DemoResult[] = [];
  const trainRuns: number[] = [];
  for (const features of ['random', pretrainRun.id] as const) {
    const label = features === 'random' ? 'random-init features' : `pretrained features (run ${features})`;
    const trainRun = await session.call('runs.train', {
      head: plan.head,
      backbone: 'resnet18',
      features,
      size: plan.size,
      labels: plan.labels,
      seed,
      steps: plan.steps,
    });
    trainRuns.push(trainRun.id);
    ctx.print(`Trained the ${plan.head} head on ${label} (${plan.size} px, ${plan.steps} steps): run ${trainRun.id}`);
    const evaluation = await session.call('runs.evaluate', { runId: trainRun.id, split: 'test' });
    for (const line of formatEvaluation(evaluation)) ctx.print(`  ${line}`);
    results.push({ label, evaluation });
  }
  if (plan.head === 'paper') {
    ctx.print('Note: the paper head reads frozen features, so it depends most on what pretraining learned.');
  }

  const [random, pretrained] = results as [DemoResult, DemoResult];
  const report = path.join(dir, 'report.html');
  await writeEvaluationReport(session, pretrained.evaluation, report, {
    title: `Landmark Studio demo: ${plan.regime} regime, ${plan.head} head, ${plan.labels} labels`,
    label: pretrained.label,
    compared: [random],
    notes: [
      `Procedural critters: ${plan.describe}; seed ${seed}. ${plan.labels} labeled training images, ${pretrained.evaluation.images} held-out test images, ${count} other unlabeled images for pretraining.`,
      `Pretraining run ${pretrainRun.id}: ${pretraining}, ${minutes} min. Training runs ${trainRuns.join(' (random init) and ')} (pretrained): ${plan.head} head, input ${plan.size} px, ${plan.steps} steps. Images below: the model on pretrained features.`,
      `Project: ${path.join(dir, 'project')}`,
    ],
    totalSeconds: (performance.now() - started) / 1000,
  });
  return { results, report };
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Generate a demo project, label 20 images, train, predict, evaluate and write an HTML report.',
  positionals: [],
  options: {
    out: {
      type: 'string',
      value: '<dir>',
      description: 'output folder (default $LANDMARK_STUDIO_HOME/demo-run); rewritten each time',
    },
    regime: {
      type: 'string',
      value: '<r>',
      description: 'frame (default: full frames, heatmap head), crop (aligned crops, paper head) or both',
    },
    seed: { type: 'string', value: '<n>', description: 'seed of the generated images and the training (default 1)' },
    quick: { type: 'boolean', description: 'fewer images, smaller input, fewer steps (a CI-sized check)' },
  },
  details: [
    'Uses the same steps as a user: init, import labels.json, split --test-list, train, predict,',
    'evaluate. Prints the held-out errors next to the mean-shape baseline and the report path.',
  ].join('\n'),
  async run(args, ctx) {
    const regime = choiceOption(args, 'regime', 'demo', ['frame', 'crop', 'both'] as const) ?? 'frame';
    const seed = integerOption(args, 'seed', 'demo', SEED_RANGE) ?? 1;
    const plans = PLANS[args.options.quick === true ? 'quick' : 'full'];
    const out = path.resolve(ctx.io.cwd, stringOption(args, 'out') ?? path.join(dataHome(ctx.io.env), 'demo-run'));
    await prepareOutput(out);
    const started = performance.now();
    const regimes: { regime: string; results: DemoResult[]; report: string }[] = [];
    for (const plan of regime === 'both' ? [plans.frame, plans.crop] : [plans[regime]]) {
      // One session per regime: each regime is its own project.
      const result = await ctx.withSession((session) =>
        runRegime(ctx, session, plan, path.join(out, plan.regime), seed),
      );
      regimes.push({ regime: plan.regime, ...result });
    }
    ctx.print(`== Demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const px = (v: number | null | undefined): string => (typeof v === 'number' ? v.toFixed(2) : '-');
    for (const { regime: r, results, report } of regimes) {
      const baseline = results[0]!.evaluation.baseline;
      ctx.print(
        `${r}: held-out pixel error (PCK) against the mean-shape baseline's ${px(baseline.pixelError)} (${baseline.pck?.toFixed(3) ?? '-'}):`,
      );
      for (const { label, evaluation: e } of results) {
        const ratio =
          e.model.pixelError !== null && baseline.pixelError ? e.model.pixelError / baseline.pixelError : null;
        ctx.print(
          `  ${label}: ${px(e.model.pixelError)}${ratio === null ? '' : ` (${(100 * ratio).toFixed(0)}% of the baseline)`}, PCK ${e.model.pck?.toFixed(3) ?? '-'}`,
        );
      }
      ctx.print(`report: ${report}`);
    }
  },
};
