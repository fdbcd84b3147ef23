import { FINE_TUNE_CHOICES, TRAIN_BACKBONES, TRAIN_HEADS, type RunRecord } from '../../../src-shared/domain.js';
import {
  AUGMENT_MARGINS,
  describeAugmentation,
  type GeometricAugmentation,
  type LabeledSpread,
} from '../../../src-shared/augmentRanges.js';
import { stringOption, UsageError, type CliContext, type Command } from '../command.js';
import { DEFAULT_TRAIN_MINUTES, MAX_TRAIN_STEPS } from '../../../src-shared/api.js';
import { PAPER_HEAD_DEFAULTS } from '../../ml/train/config.js';
import { choiceOption, featuresOption, integerOption, minutesOption, SEED_RANGE } from './run-options.js';

/** `--scale 0.8,1.25`: two positive numbers, the smaller first. */
function parseScale(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  const [lo, hi] = values;
  if (values.length !== 2 || !(lo! >= 0.1 && hi! <= 10 && lo! <= hi!))
    throw new UsageError(`Invalid --scale "${text}": expected <min>,<max> from 0.1 to 10, e.g. 0.8,1.25.`, 'train');
  return [lo!, hi!];
}

/** `--translate 0.3,0.05` (fractions of the frame's longer side along x and y) or `anywhere`. */
function parseTranslate(text: string | undefined): [number, number] | 'anywhere' | undefined {
  if (text === undefined || text === 'anywhere') return text;
  const values = text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (values.length !== 2 || !values.every((v) => v >= 0 && v <= 1))
    throw new UsageError(
      `Invalid --translate "${text}": expected <x>,<y> fractions of the frame from 0 to 1 (e.g. 0.3,0.05), or anywhere.`,
      'train',
    );
  return [values[0]!, values[1]!];
}

/** The augmentation a run used, what its labels called for where it differs, and their spread. */
function describeRunAugmentation(config: Record<string, unknown>): string | null {
  const used = config.augmentation as GeometricAugmentation | undefined;
  const fromLabels = config.augmentationFromLabels as GeometricAugmentation | undefined;
  const spread = config.labeledSpread as LabeledSpread | undefined;
  if (!used || !fromLabels || !spread) return null;
  const overridden = (Object.keys(used) as (keyof GeometricAugmentation)[]).filter(
    (key) => JSON.stringify(used[key]) !== JSON.stringify(fromLabels[key]),
  );
  const source = overridden.length
    ? `your ${overridden.join(', ')}; from the labels: ${describeAugmentation(fromLabels)}`
    : 'chosen from the labels';
  return [
    `  augmentation: ${describeAugmentation(used)} (${source})`,
    `  labels' spread: rotation +-${spread.rotationDegrees.toFixed(0)} deg, scale ${spread.scale[0].toFixed(2)}-${spread.scale[1].toFixed(2)}, position +-${spread.translate[0].toFixed(2)} x ${spread.translate[1].toFixed(2)} of the frame over ${spread.skeletons} images; margins +-${AUGMENT_MARGINS.rotationDegrees} deg, x${AUGMENT_MARGINS.scaleFactor} either way, +-${AUGMENT_MARGINS.translate}`,
  ].join('\n');
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Problems a run recorded (left-out images and points), as warnings. */
export function warnProblems(ctx: CliContext, run: RunRecord): void {
  const problems = Array.isArray(run.metrics?.problems) ? (run.metrics.problems as string[]) : [];
  if (problems.length === 0) return;
  ctx.warn(`warning: ${problems.length} problem(s) in run ${run.id}:`);
  for (const p of problems.slice(0, 10)) ctx.warn(`  ${p}`);
  if (problems.length > 10) ctx.warn(`  ... and ${problems.length - 10} more`);
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a few-shot landmark head on labeled images of the train split.',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    head: {
      type: 'string',
      value: '<head>',
      description: 'heatmap (full frames, default) or paper (aligned crops, frozen features)',
    },
    backbone: { type: 'string', value: '<arch>', description: `${TRAIN_BACKBONES.join(', ')} (default resnet18)` },
    features: {
      type: 'string',
      value: '<src>',
      description: "'random' (default) or the id of a pretraining run to start from",
    },
    size: {
      type: 'string',
      value: '<px>',
      description: 'longer side of the network input, aspect kept (default: 256 heatmap, 96 paper)',
    },
    finetune: {
      type: 'string',
      value: '<mode>',
      description: 'backbone stages trained: none, last, all (default: all heatmap, none paper)',
    },
    labels: { type: 'string', value: '<n>', description: 'labeled images drawn from the train split (default: all)' },
    seed: {
      type: 'string',
      value: '<n>',
      description: 'seed of the label draw, initialisation and augmentation (default 1)',
    },
    steps: {
      type: 'string',
      value: '<k>',
      description: `optimisation steps (with neither: the heatmap head trains ${DEFAULT_TRAIN_MINUTES} minutes, the paper head ${PAPER_HEAD_DEFAULTS.steps} steps; with --minutes: as many as fit)`,
    },
    minutes: {
      type: 'string',
      value: '<m>',
      description: `wall-clock budget: stop after the step that spends m minutes (or at --steps, whichever comes first); the learning rate decays over it (heatmap head default ${DEFAULT_TRAIN_MINUTES} without --steps: on real frames with 20 labels the error fell by a quarter from 5 to 10 minutes, by 5% from 10 to 20)`,
    },
    rotation: {
      type: 'string',
      value: '<deg>',
      description: 'heatmap head: rotation range, degrees either way, 0-180 (default: from the labels)',
    },
    scale: {
      type: 'string',
      value: '<lo>,<hi>',
      description: 'heatmap head: scale range, e.g. 0.8,1.25 (default: from the labels)',
    },
    translate: {
      type: 'string',
      value: '<x>,<y>',
      description:
        "heatmap head: largest shift, fractions of the frame's longer side, or 'anywhere' (default: from the labels)",
    },
    flip: { type: 'string', value: 'on|off', description: 'heatmap head: horizontal flips (default: from the labels)' },
  },
  details: [
    'Images in no split count as train. Ends with a line "run <id>": pass it to predict and evaluate.',
    "The heatmap head's geometric augmentation is chosen from the labels (their spread of orientation, scale and",
    'position plus a margin; flips only where mirrored poses look like labeled ones): --rotation, --scale,',
    '--translate and --flip replace a range.',
    'Example: landmark-studio train ./mice --head heatmap --size 192 --labels 20 --seed 1',
    '         landmark-studio train ./mice --labels 20 --minutes 10',
    'Example: landmark-studio train ./runway --labels 20 --rotation 15 --flip off',
  ].join('\n'),
  async run(args, ctx) {
    const head = choiceOption(args, 'head', 'train', TRAIN_HEADS) ?? 'heatmap';
    const backbone = choiceOption(args, 'backbone', 'train', TRAIN_BACKBONES) ?? 'resnet18';
    const fineTune = choiceOption(args, 'finetune', 'train', FINE_TUNE_CHOICES);
    const features = featuresOption(args, 'train', 'a pretraining run') ?? 'random';
    const size = integerOption(args, 'size', 'train', { min: 32, max: 2048 });
    const labels = integerOption(args, 'labels', 'train', { min: 1, max: 1_000_000 });
    const seed = integerOption(args, 'seed', 'train', SEED_RANGE) ?? 1;
    const steps = integerOption(args, 'steps', 'train', { min: 1, max: MAX_TRAIN_STEPS });
    // A person's run of the heatmap head gets the measured default budget (DEFAULT_TRAIN_MINUTES).
    const minutes =
      minutesOption(args, 'minutes', 'train') ??
      (head === 'heatmap' && steps === undefined ? DEFAULT_TRAIN_MINUTES : undefined);
    const rotationDegrees = integerOption(args, 'rotation', 'train', { min: 0, max: 180 });
    const scale = parseScale(stringOption(args, 'scale'));
    const translate = parseTranslate(stringOption(args, 'translate'));
    const flipChoice = choiceOption(args, 'flip', 'train', ['on', 'off'] as const);
    const augment = {
      ...(rotationDegrees === undefined ? {} : { rotationDegrees }),
      ...(scale === undefined ? {} : { scale }),
      ...(translate === undefined ? {} : { translate }),
      ...(flipChoice === undefined ? {} : { flip: flipChoice === 'on' }),
    };
    if (Object.keys(augment).length > 0 && head !== 'heatmap')
      throw new UsageError(
        "--rotation, --scale, --translate and --flip set the heatmap head's augmentation: the paper head uses TPS warps.",
        'train',
      );
    const run = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      return session.call('runs.train', {
        head,
        backbone,
        features,
        seed,
        ...(size === undefined ? {} : { size }),
        ...(fineTune === undefined ? {} : { fineTune }),
        ...(labels === undefined ? {} : { labels }),
        ...(steps === undefined ? {} : { steps }),
        ...(minutes === undefined ? {} : { minutes }),
        ...(Object.keys(augment).length === 0 ? {} : { augment }),
      });
    });
    const c = run.config;
    const m = run.metrics ?? {};
    ctx.print(
      `Trained the ${run.method} head on ${String(m.examples ?? c.labels)} labeled images (${String(c.backbone)}, ${String(c.inputSize)} px, fine-tune ${String(c.fineTune)}, ${String(m.steps ?? c.steps)} steps${typeof c.minutes === 'number' ? ` in a ${c.minutes} min budget` : ''}) in ${(num(m.seconds) ?? 0).toFixed(1)} s`,
    );
    ctx.print(
      `  final loss ${num(m.finalLoss)?.toPrecision(3) ?? '-'}, ${(num(m.imagesPerSecond) ?? 0).toFixed(1)} images/s`,
    );
    const augmentation = describeRunAugmentation(c);
    if (augmentation) ctx.print(augmentation);
    ctx.print(`  backend: ${run.backend ?? 'unknown'}`);
    warnProblems(ctx, run);
    ctx.print(`run ${run.id}`);
  },
};
