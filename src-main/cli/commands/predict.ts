import { SPLITS } from '../../../src-shared/domain.js';
import type { Command } from '../command.js';
import { choiceOption, runIdOption } from './run-options.js';
import { warnProblems } from './train.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: "Predict the landmarks of a split's images with a trained run.",
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    run: { type: 'string', value: '<id>', description: 'the training run whose model predicts' },
    split: { type: 'string', value: '<split>', description: `${[...SPLITS, 'all'].join(', ')} (default test)` },
  },
  details:
    'Ends with a line "run <id>": the prediction run holding the points.\nExample: landmark-studio predict ./mice --run 3 --split test',
  async run(args, ctx) {
    const runId = runIdOption(args, 'predict');
    const split = choiceOption(args, 'split', 'predict', [...SPLITS, 'all'] as const) ?? 'test';
    const run = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      return session.call('runs.predict', { runId, split });
    });
    const m = run.metrics ?? {};
    const seconds = typeof m.seconds === 'number' ? m.seconds : 0;
    ctx.print(
      `Predicted ${String(m.predicted)} of ${String(m.images)} ${split === 'all' ? '' : `${split} `}images with training run ${runId} in ${seconds.toFixed(1)} s`,
    );
    ctx.print(`  backend: ${run.backend ?? 'unknown'}`);
    warnProblems(ctx, run);
    ctx.print(`run ${run.id}`);
  },
};
