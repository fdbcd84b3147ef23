import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { chosenFormat, formatFlags } from './label-formats.js';

export const exportCommand: Command = {
  name: 'export',
  summary: "Write a project's labels to a file.",
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    ...formatFlags('to'),
    overwrite: { type: 'boolean', description: 'replace the file when it exists (default: refuse)' },
  },
  details:
    'Example: landmark-studio export ./mice-project --coco labels-coco.json --overwrite\nProvenance of every label (predicted and final position, source, prediction run):\n  landmark-studio export ./mice-project --provenance-csv provenance.csv',
  async run(args, ctx) {
    const { format, file } = chosenFormat(args, 'export', 'to');
    const written = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      return session.call('io.export', {
        format,
        file: resolve(ctx.io.cwd, file),
        overwrite: args.options.overwrite === true,
      });
    });
    ctx.print(
      `Exported ${written.count} ${format.startsWith('provenance') ? 'labels' : 'labeled items'} to ${written.file} (${format})`,
    );
  },
};
