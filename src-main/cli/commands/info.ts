import type { ProjectInfo } from '../../../src-shared/domain.js';
import type { Command } from '../command.js';

/** Counts of a project, as printed by init, import and info. */
export function formatProjectSummary(info: ProjectInfo): string {
  const c = info.counts;
  return [
    `  images:      ${c.images} (${c.labeledImages} labeled, ${c.problems} with problems)`,
    `  keypoints:   ${c.keypoints}`,
    `  annotations: ${c.annotations}`,
    `  image root:  ${info.imageRoot}`,
  ].join('\n');
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'Show a project: counts, keypoints and images with problems.',
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: { json: { type: 'boolean', description: 'print JSON {project, schema, problems}' } },
  async run(args, ctx) {
    const { project, schema, problems } = await ctx.withSession(async (session) => {
      const project = await session.openProject(args.positionals[0]!);
      return {
        project,
        schema: await session.call('schema.get', {}),
        problems: await session.call('images.problems', {}),
      };
    });
    if (args.options.json === true) {
      ctx.print(JSON.stringify({ project, schema, problems }, null, 2));
      return;
    }
    ctx.print(`Project "${project.name}" in ${project.dir} (schema version ${project.schemaVersion})`);
    ctx.print(formatProjectSummary(project));
    if (schema.keypoints.length > 0) ctx.print(`  points:      ${schema.keypoints.map((k) => k.name).join(', ')}`);
    if (problems.length > 0) {
      ctx.print(`Images with problems (${problems.length}):`);
      for (const problem of problems) ctx.print(`  ${problem.relPath}: ${problem.reason}`);
    }
  },
};
