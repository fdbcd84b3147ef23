import type { Command } from '../command.js';
import { integerOption, runIdOption } from './run-options.js';

export const suggestCommand: Command = {
  name: 'suggest',
  summary: 'Suggest unlabeled images to label next, from the features of a trained run.',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    run: { type: 'string', value: '<id>', description: 'the training run whose backbone features are compared' },
    count: { type: 'string', value: '<n>', description: 'how many images to suggest (default 10)' },
    json: { type: 'boolean', description: 'print the suggestions as JSON' },
  },
  details: [
    "Pools the run's backbone features over every usable image first (a features run) unless one of",
    'that run finished already; the rule (farthest from the labeled images, mixed with low confidence',
    'when the run predicted them, near-duplicates skipped) is in docs/methods.md.',
    'Example: landmark-studio suggest ./mice --run 3 --count 20',
  ].join('\n'),
  async run(args, ctx) {
    const runId = runIdOption(args, 'suggest');
    const count = integerOption(args, 'count', 'suggest', { min: 1, max: 10_000 }) ?? 10;
    const suggestions = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      const computed = (await session.call('runs.list', { kind: 'features' })).some(
        (r) => r.parentRunId === runId && r.status === 'done',
      );
      if (!computed) {
        const features = await session.call('runs.features', { runId });
        ctx.warn(`Computed the features of training run ${runId} (run ${features.id}).`);
      }
      return session.call('review.suggest', { runId, count });
    });
    if (args.options.json === true) {
      ctx.print(JSON.stringify(suggestions, null, 2));
      return;
    }
    if (suggestions.length === 0) ctx.print('No unlabeled images to suggest.');
    for (const s of suggestions) {
      const confidence = s.confidence === null ? '' : `  confidence ${s.confidence.toFixed(2)}`;
      ctx.print(`${s.image.relPath}  (image ${s.image.id})  distance ${s.distance.toFixed(3)}${confidence}`);
    }
  },
};
