import { resolve } from 'node:path';
import { stringOption, type Command } from '../command.js';
import { formatProjectSummary } from './info.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'Create a project over a folder of images (scans them).',
  positionals: [{ name: 'project-dir', description: 'folder for the project (project.sqlite, models/, cache/)' }],
  options: {
    images: {
      type: 'string',
      value: '<dir>',
      required: true,
      description: 'the image folder (images stay where they are)',
    },
    name: { type: 'string', value: '<name>', description: 'project name (default: the folder name)' },
  },
  details: 'Example: landmark-studio init ./mice-project --images ~/data/mice/frames',
  async run(args, ctx) {
    const images = stringOption(args, 'images')!;
    const name = stringOption(args, 'name');
    const info = await ctx.withSession((session) =>
      session.call('project.create', {
        projectDir: resolve(ctx.io.cwd, args.positionals[0]!),
        imageRoot: resolve(ctx.io.cwd, images),
        ...(name === undefined ? {} : { name }),
      }),
    );
    ctx.print(`Created project "${info.name}" in ${info.dir}`);
    ctx.print(formatProjectSummary(info));
  },
};
