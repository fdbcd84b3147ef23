import { ApiError } from '../../../src-shared/api.js';
import { cancelRun } from '../../jobs/activeRuns.js';
import { DEFAULT_PRETRAIN_METHOD, PRETRAIN_METHODS, TRAIN_BACKBONES } from '../../../src-shared/domain.js';
import { PRETRAIN_DEFAULTS, preparePretraining, runPretraining, type PretrainRequest } from '../../jobs/pretrainRun.js';
import { ProjectStore } from '../../store/projectStore.js';
import { stringOption, type Command } from '../command.js';
import { choiceOption, featuresOption, integerOption, minutesOption, SEED_RANGE } from './run-options.js';
import { warnProblems } from './train.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const pretrainCommand: Command = {
  name: 'pretrain',
  summary:
    "Pretrain a backbone without labels (dense contrastive learning by default, or MoCo v2) on the project's images or any folder; resumable.",
  positionals: [
    { name: 'project-dir', description: 'the project folder (the run and its checkpoint are stored there)' },
  ],
  options: {
    method: {
      type: 'string',
      value: '<method>',
      description: `${PRETRAIN_METHODS.join(', ')} (default ${DEFAULT_PRETRAIN_METHOD}, or the resumed run's: it trains the stages the heatmap head fine-tunes, ResNet conv2_x and conv3_x, and on the demo frames at 20 labels gave 0.763x random init's held-out error; MoCo made the features worse at every budget measured, see bench/README.md)`,
    },
    backbone: { type: 'string', value: '<arch>', description: `${TRAIN_BACKBONES.join(', ')} (default resnet18)` },
    size: {
      type: 'string',
      value: '<px>',
      description:
        'side of the square views the network sees (default 96 for moco, 48 for dense-contrastive); smaller images are upscaled',
    },
    folder: {
      type: 'string',
      value: '<dir>',
      description: "images to pretrain on, recursively (default: the project's images)",
    },
    epochs: {
      type: 'string',
      value: '<n>',
      description: `stop after n epochs; also the cosine schedule's length (default ${PRETRAIN_DEFAULTS.epochs})`,
    },
    minutes: {
      type: 'string',
      value: '<m>',
      description: 'stop after m minutes, whichever of the budgets comes first (default: none)',
    },
    batch: {
      type: 'string',
      value: '<b>',
      description: 'images per step (default 32 for moco, 8 for dense-contrastive)',
    },
    queue: {
      type: 'string',
      value: '<q>',
      description: 'moco: negatives in the queue (default 4096, at most the image count)',
    },
    'checkpoint-minutes': {
      type: 'string',
      value: '<m>',
      description: `minutes between checkpoints (default ${PRETRAIN_DEFAULTS.checkpointMinutes}); one is also written at the stop and on cancel`,
    },
    seed: {
      type: 'string',
      value: '<n>',
      description: `seed of initialisation, image order and augmentation (default ${PRETRAIN_DEFAULTS.seed})`,
    },
    features: {
      type: 'string',
      value: '<run-id>|random',
      description:
        "projection: the run whose hypercolumn (conv2_x..conv5_x; a dense contrastive run's or heatmap model's conv2_x, conv3_x) is projected, or 'random' for a random-init ResNet-18",
    },
    dim: {
      type: 'string',
      value: '<d>',
      description: 'projection: dimension of the projected descriptors (paper 001 Tab. 1: 64, 128, 256; default 256)',
    },
    resume: {
      type: 'string',
      value: '<run-id>',
      description: 'continue this pretraining run from its checkpoint (same id; --minutes gives this session a budget)',
    },
  },
  details: [
    'Ctrl-C writes a checkpoint and stops; resume later with --resume <run-id>. Unreadable images are reported and skipped.',
    'The loss is shown against its chance level (moco: ln(queue + 1); dense-contrastive: ln(2 x points - 1); projection: the mean distance in grid cells between a location and every other, paper 001 Eq. 3). Ends with a line "run <id>": pass it to train --features.',
    'Example: landmark-studio pretrain ./mice --minutes 15',
    '         landmark-studio pretrain ./mice --method moco --backbone resnet18 --size 96 --minutes 30',
    '         landmark-studio pretrain ./mice --resume 3 --minutes 30',
    '         landmark-studio pretrain ./mice --method projection --features 1 --dim 128 --minutes 10',
  ].join('\n'),
  async run(args, ctx) {
    const request: PretrainRequest = {
      method: choiceOption(args, 'method', 'pretrain', PRETRAIN_METHODS),
      backbone: choiceOption(args, 'backbone', 'pretrain', TRAIN_BACKBONES),
      size: integerOption(args, 'size', 'pretrain', { min: 16, max: 1024 }),
      folder: stringOption(args, 'folder'),
      epochs: integerOption(args, 'epochs', 'pretrain', { min: 1, max: 1_000_000 }),
      minutes: minutesOption(args, 'minutes', 'pretrain'),
      batch: integerOption(args, 'batch', 'pretrain', { min: 2, max: 65_536 }),
      queue: integerOption(args, 'queue', 'pretrain', { min: 2, max: 1_000_000 }),
      checkpointMinutes: minutesOption(args, 'checkpoint-minutes', 'pretrain'),
      seed: integerOption(args, 'seed', 'pretrain', SEED_RANGE),
      resume: integerOption(args, 'resume', 'pretrain', { min: 1, max: Number.MAX_SAFE_INTEGER }),
      features: featuresOption(args, 'pretrain'),
      dim: integerOption(args, 'dim', 'pretrain', { min: 1, max: 4096 }),
    };
    const { run, outcome } = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      // The run is driven from here (not a services call) so Ctrl-C can checkpoint it.
      const store = ProjectStore.open(session.services.currentProjectDir()!);
      try {
        const prepared = await preparePretraining(store, request);
        for (const m of prepared.messages) ctx.warn(`note: ${m}`);
        let runId: number | null = null;
        const interrupt = (): void => {
          if (runId !== null) cancelRun(store, runId);
        };
        process.once('SIGINT', interrupt);
        try {
          const result = await runPretraining(store, prepared, {
            onRun: (id) => (runId = id),
            onProgress: (event) => session.progress.emit(event),
          });
          return { run: store.runs.require(result.runId), outcome: result.outcome };
        } finally {
          process.removeListener('SIGINT', interrupt);
        }
      } finally {
        store.close();
      }
    });
    const c = run.config;
    if (outcome.status === 'failed')
      throw new ApiError(
        'internal',
        `Pretraining run ${run.id} failed: ${outcome.error}\nIts last checkpoint is kept: resume with --resume ${run.id}.\nrun ${run.id}`,
      );
    const m = run.metrics ?? {};
    if (outcome.status === 'cancelled') {
      ctx.print(
        `Pretraining run ${run.id} stopped by the user; checkpoint ${run.checkpointPath ?? 'none'}: continue with --resume ${run.id}`,
      );
    } else {
      ctx.print(
        `Pretrained ${run.method} (${String(c.backbone)}, ${String(c.inputSize)} px, batch ${String(c.batchSize)}${c.queueSize === undefined ? '' : `, queue ${String(c.queueSize)}`}) on ${String(c.imageCount)} images: step ${String(m.steps)} (epoch ${(num(m.epochs) ?? 0).toFixed(2)} of ${String(c.epochs)}), stopped by the ${m.stoppedBy === 'minutes' ? 'time' : 'epoch'} budget after ${(num(m.seconds) ?? 0).toFixed(1)} s`,
      );
      ctx.print(
        `  final loss ${num(m.finalLoss)?.toFixed(3) ?? '-'} (chance ${(num(m.chanceLoss) ?? 0).toFixed(3)}), ${(num(m.imagesPerSecond) ?? 0).toFixed(1)} images/s`,
      );
      ctx.print(`  checkpoint: models/${run.checkpointPath ?? '-'}`);
    }
    ctx.print(`  backend: ${run.backend ?? 'unknown'}`);
    warnProblems(ctx, run);
    ctx.print(`run ${run.id}`);
  },
};
