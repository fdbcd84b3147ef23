import { RUN_KINDS } from '../../../src-shared/domain.js';
import type { Command } from '../command.js';
import { choiceOption } from './run-options.js';

export const runsCommand: Command = {
  name: 'runs',
  summary: "List a project's runs (pretraining, training, prediction, evaluation).",
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    kind: { type: 'string', value: '<kind>', description: `only runs of one kind: ${RUN_KINDS.join(', ')}` },
    json: { type: 'boolean', description: 'print the run records as JSON' },
  },
  async run(args, ctx) {
    const kind = choiceOption(args, 'kind', 'runs', RUN_KINDS);
    const runs = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      return session.call('runs.list', kind === undefined ? {} : { kind });
    });
    if (args.options.json === true) {
      ctx.print(JSON.stringify(runs, null, 2));
      return;
    }
    if (runs.length === 0) ctx.print('No runs yet.');
    for (const run of runs) {
      const parent = run.parentRunId === null ? '' : ` from run ${run.parentRunId}`;
      const error = run.error ? `: ${run.error.split('\n')[0]}` : '';
      ctx.print(`run ${run.id}  ${run.kind} ${run.method}${parent}  ${run.status}  ${run.createdAt}${error}`);
    }
  },
};
