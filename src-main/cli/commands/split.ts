import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringOption, UsageError, type Command } from '../command.js';
import { fractionOption, integerOption, SEED_RANGE } from './run-options.js';

export const splitCommand: Command = {
  name: 'split',
  summary: 'Assign the images to train / val / test splits.',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    'test-fraction': {
      type: 'string',
      value: '<f>',
      description: 'share of the images drawn at random for test, e.g. 0.2',
    },
    'test-list': {
      type: 'string',
      value: '<file>',
      description: 'file naming the test images, one per line (path under the image root)',
    },
    'val-fraction': { type: 'string', value: '<f>', description: 'share of the remaining images for val (default 0)' },
    seed: { type: 'string', value: '<n>', description: 'random seed of the draw (default 1)' },
  },
  details: [
    'Every usable image not put in test (or val) goes to train. Items cut from one photo share a split.',
    'Examples: landmark-studio split ./mice --test-fraction 0.2 --seed 3',
    '          landmark-studio split ./mice --test-list held-out.txt --val-fraction 0.1',
  ].join('\n'),
  async run(args, ctx) {
    const testFraction = fractionOption(args, 'test-fraction', 'split');
    const testList = stringOption(args, 'test-list');
    if ((testFraction === undefined) === (testList === undefined)) {
      throw new UsageError('Give either --test-fraction <f> or --test-list <file>.', 'split');
    }
    const valFraction = fractionOption(args, 'val-fraction', 'split') ?? 0;
    const seed = integerOption(args, 'seed', 'split', SEED_RANGE) ?? 1;
    let testImages: string[] | undefined;
    if (testList !== undefined) {
      const file = resolve(ctx.io.cwd, testList);
      const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`Cannot read the test list ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });
      testImages = text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'));
    }
    const counts = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      return session.call('images.split', {
        ...(testImages === undefined ? { testFraction } : { testImages }),
        valFraction,
        seed,
      });
    });
    const total = counts.train + counts.val + counts.test;
    ctx.print(
      `Split ${total} images: ${counts.train} train, ${counts.val} val, ${counts.test} test${counts.none ? ` (${counts.none} unusable, in no split)` : ''}`,
    );
  },
};
