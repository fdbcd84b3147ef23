import { resolve } from 'node:path';
import { stringOption, UsageError, type CliContext, type Command } from '../command.js';
import { formatProjectSummary } from './info.js';
import { chosenFormat, formatFlags } from './label-formats.js';

const SHOWN_PER_LIST = 10;

function warnList(ctx: CliContext, title: string, entries: string[]): void {
  if (entries.length === 0) return;
  ctx.warn(`warning: ${title}`);
  for (const entry of entries.slice(0, SHOWN_PER_LIST)) ctx.warn(`  ${entry}`);
  if (entries.length > SHOWN_PER_LIST) ctx.warn(`  ... and ${entries.length - SHOWN_PER_LIST} more`);
}

export const importCommand: Command = {
  name: 'import',
  summary: 'Import labels into a project (points for images already in it).',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    ...formatFlags('from'),
    config: {
      type: 'string',
      value: '<yaml>',
      description: 'DeepLabCut config.yaml (with --dlc): keypoint order and skeleton',
    },
  },
  details: 'Example: landmark-studio import ./mice-project --dlc CollectedData_me.csv --config config.yaml',
  async run(args, ctx) {
    const { format, file } = chosenFormat(args, 'import', 'from');
    const config = stringOption(args, 'config');
    if (config !== undefined && format !== 'dlc') throw new UsageError('--config goes with --dlc only.', 'import');
    const { report, project } = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      const report = await session.call('io.import', {
        format,
        file: resolve(ctx.io.cwd, file),
        ...(config === undefined ? {} : { configFile: resolve(ctx.io.cwd, config) }),
      });
      return { report, project: await session.call('project.info', {}) };
    });
    ctx.print(`Imported ${report.annotations} points on ${report.images} images from ${file} (${report.format})`);
    if (report.instances > 0) ctx.print(`  created ${report.instances} instance items (several per image)`);
    if (report.keypointsCreated.length > 0) ctx.print(`  new keypoints: ${report.keypointsCreated.join(', ')}`);
    if (report.flipPairs.length > 0) {
      const pairs = report.flipPairs.map(
        (p) => `${p.left} <-> ${p.right}${p.source === 'file' ? ' (from the file)' : ''}`,
      );
      ctx.print(`  left/right partners set: ${pairs.join(', ')} (change them in the schema editor)`);
    }
    warnList(
      ctx,
      `${report.unpairedSides.length} keypoints say they have a side but have no partner, so training will not flip images:`,
      report.unpairedSides.map((u) => `${u.name}: ${u.reason}`),
    );
    warnList(ctx, `${report.unmatched.length} image references match no project image:`, report.unmatched);
    warnList(ctx, `${report.warnings?.length ?? 0} items were left out:`, report.warnings ?? []);
    ctx.print(formatProjectSummary(project));
  },
};
