import {
  SPLITS,
  type EvaluationReport,
  type LandmarkScores,
  type MatchingEvaluation,
} from '../../../src-shared/domain.js';
import { resolve } from 'node:path';
import { stringOption, UsageError, type Command } from '../command.js';
import { writeEvaluationReport } from './report-file.js';
import { choiceOption, featuresOption, integerOption, runIdOption, SEED_RANGE } from './run-options.js';
import type { CliContext } from '../command.js';

const cell = (v: number | null, digits: number): string => (v === null ? '-' : v.toFixed(digits));

function row(label: string, s: Pick<LandmarkScores, 'pixelError' | 'nme' | 'pck'>, width: number): string {
  return `  ${label.padEnd(width)}  ${cell(s.pixelError, 2).padStart(11)}  ${cell(s.nme, 2).padStart(8)}  ${cell(s.pck, 3).padStart(8)}`;
}

/** The evaluation as a table: model and mean-shape baseline overall, then per keypoint. */
export function formatEvaluation(report: EvaluationReport): string[] {
  const names = Object.keys(report.model.perKeypoint);
  const width = Math.max(18, ...names.map((n) => n.length + 2));
  const norm = report.normalisation === 'pair' ? 'normalisation pair' : 'box diagonal';
  const header = `  ${''.padEnd(width)}  ${'pixel error'.padStart(11)}  ${'NME (%)'.padStart(8)}  ${`PCK@${report.pckAlpha}`.padStart(8)}`;
  const lines = [
    `Evaluation of training run ${report.trainRunId} on ${report.images} ${report.split} images (${report.points} points; NME by ${norm}):`,
    header,
    row('model', report.model, width),
    row('mean-shape baseline', report.baseline, width),
    'Per keypoint (model / baseline pixel error):',
    ...names.map(
      (n) =>
        `  ${n.padEnd(width)}  ${cell(report.model.perKeypoint[n]!.pixelError, 2).padStart(11)} / ${cell(report.baseline.perKeypoint[n]?.pixelError ?? null, 2)}`,
    ),
    `Backend: ${report.backend ?? 'unknown'}`,
  ];
  const t = report.timings;
  const rate = (v: number | null) => (v === null ? '' : ` (${v.toFixed(1)} images/s)`);
  if (t.trainSeconds !== null || t.predictSeconds !== null) {
    lines.push(
      `Timings: training ${cell(t.trainSeconds, 1)} s${rate(t.trainImagesPerSecond)}, prediction ${cell(t.predictSeconds, 1)} s${rate(t.predictImagesPerSecond)}`,
    );
  }
  return lines;
}

/** Paper 001 Tab. 1's table: mean pixel error of same- and different-instance matches, per keypoint. */
export function formatMatchingEvaluation(e: MatchingEvaluation): string[] {
  const names = Object.keys(e.same.perKeypoint);
  const width = Math.max(20, ...names.map((n) => n.length + 2));
  const line = (label: string, same: number | null, different: number | null) =>
    `  ${label.padEnd(width)}  ${cell(same, 2).padStart(9)}  ${cell(different, 2).padStart(9)}`;
  return [
    `Matching with ${e.features === 'random' ? 'random-init' : `run ${e.features}'s`} descriptors: mean pixel error of the nearest-neighbour match of each labeled point`,
    `(${e.same.pairs} same-instance pairs, the image against a TPS warp of itself; ${e.different.pairs} different-instance pairs)`,
    `  ${''.padEnd(width)}  ${'same'.padStart(9)}  ${'different'.padStart(9)}`,
    line('all keypoints', e.same.meanError, e.different.meanError),
    ...names.map((n) => line(n, e.same.perKeypoint[n] ?? null, e.different.perKeypoint[n] ?? null)),
    `(${e.seconds.toFixed(1)} s)`,
  ];
}

async function evaluateMatching(args: Parameters<Command['run']>[0], ctx: CliContext): Promise<void> {
  const features = featuresOption(args, 'evaluate');
  if (features === undefined)
    throw new UsageError('evaluate --matching needs --features <run-id>|random: the descriptors to match.', 'evaluate');
  const split = choiceOption(args, 'split', 'evaluate', [...SPLITS, 'all'] as const) ?? 'all';
  const pairs = integerOption(args, 'pairs', 'evaluate', { min: 1, max: 10_000 });
  const seed = integerOption(args, 'seed', 'evaluate', SEED_RANGE);
  const evaluation = await ctx.withSession(async (session) => {
    await session.openProject(args.positionals[0]!);
    return session.call('matching.evaluate', { features, split, pairs, seed });
  });
  if (args.options.json === true) {
    ctx.print(JSON.stringify(evaluation, null, 2));
    return;
  }
  for (const line of formatMatchingEvaluation(evaluation)) ctx.print(line);
  for (const problem of evaluation.problems) ctx.warn(`warning: ${problem}`);
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'Score a trained run on the labels of a split, against the mean-shape baseline.',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    run: {
      type: 'string',
      value: '<id>',
      description: 'a training run (predicts the split first when needed) or a prediction run',
    },
    split: {
      type: 'string',
      value: '<split>',
      description: `${SPLITS.join(', ')} (default test; with --matching also all, the default)`,
    },
    matching: {
      type: 'boolean',
      description:
        'instead of a run, evaluate matching with --features (paper 001 Tab. 1: same- and different-instance pairs of labeled images)',
    },
    features: {
      type: 'string',
      value: '<run-id>|random',
      description: '--matching: the run whose descriptors are matched (pretraining, projection or training), or random',
    },
    pairs: { type: 'string', value: '<n>', description: '--matching: pairs of each kind (default 100)' },
    seed: { type: 'string', value: '<n>', description: '--matching: seed of the pairs and warps (default 1)' },
    json: {
      type: 'boolean',
      description: 'print the evaluation as JSON (metrics per keypoint, baseline, backend, timings)',
    },
    report: {
      type: 'string',
      value: '<file>',
      description: 'also write an HTML report (metrics, charts, images with points)',
    },
  },
  details: [
    'Metrics: mean pixel error, normalised mean error (%, by the normalisation pair, else the box',
    'diagonal) and PCK@0.05 of the longer image side, overall and per keypoint. Ends with "run <id>"',
    '(the evaluation run) unless --json.',
    'Example: landmark-studio evaluate ./mice --run 3 --split test --json',
    '         landmark-studio evaluate ./mice --matching --features 4 --pairs 50',
  ].join('\n'),
  async run(args, ctx) {
    if (args.options.matching === true) return evaluateMatching(args, ctx);
    const runId = runIdOption(args, 'evaluate');
    const split = choiceOption(args, 'split', 'evaluate', SPLITS) ?? 'test';
    const reportFile = stringOption(args, 'report');
    const report = await ctx.withSession(async (session) => {
      const project = await session.openProject(args.positionals[0]!);
      const evaluation = await session.call('runs.evaluate', { runId, split });
      if (reportFile !== undefined) {
        await writeEvaluationReport(session, evaluation, resolve(ctx.io.cwd, reportFile), {
          title: `Landmark Studio: training run ${evaluation.trainRunId} on the ${split} split of "${project.name}"`,
          notes: [
            `Project: ${project.dir}`,
            `Prediction run ${evaluation.predictRunId}; evaluation run ${evaluation.evaluationRunId}.`,
          ],
        });
      }
      return evaluation;
    });
    if (args.options.json === true) {
      ctx.print(JSON.stringify(report, null, 2));
      return;
    }
    for (const line of formatEvaluation(report)) ctx.print(line);
    for (const problem of report.problems) ctx.warn(`warning: ${problem}`);
    if (reportFile !== undefined) ctx.print(`report: ${resolve(ctx.io.cwd, reportFile)}`);
    ctx.print(`run ${report.evaluationRunId}`);
  },
};
