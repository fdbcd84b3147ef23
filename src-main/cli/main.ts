// The `landmark-studio` command line: picks the command from the registry, parses its flags,
// runs it over services + dispatch. Exit codes: 0 ok, 1 the work failed (ApiError or other
// error: the message is printed), 2 bad usage.
import { ApiError } from '../../src-shared/api.js';
import {
  formatCommandHelp,
  formatUsageLine,
  parseCommandArgs,
  UsageError,
  type CliContext,
  type CliIo,
} from './command.js';
import { commands, findCommand } from './commands/index.js';
import { createProgressBar } from './progress-bar.js';

function toolHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: landmark-studio <command> [options]',
    '',
    'Few-shot landmark labeling over a project folder, headless.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'landmark-studio <command> --help' for a command's options.",
  ].join('\n');
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const bar = createProgressBar(io.stderr);
  const ctx: CliContext = {
    io,
    print(line) {
      bar.finish();
      io.stdout.write(`${line}\n`);
    },
    warn(line) {
      bar.finish();
      io.stderr.write(`${line}\n`);
    },
    async withSession(work, paths) {
      // Loaded on first use: services bring native modules, which --help and usage errors skip.
      const { openSession } = await import('./session.js');
      const session = openSession(io.cwd, paths);
      session.progress.subscribe((event) => bar.update(event));
      try {
        return await work(session);
      } finally {
        bar.finish();
        await session.close();
      }
    },
  };

  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${toolHelp()}\n`);
    return 2;
  }
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help'], io);
  if (name === '--help' || name === '-h' || name === 'help') {
    ctx.print(toolHelp());
    return 0;
  }
  const command = findCommand(name);
  try {
    if (!command) {
      throw new UsageError(
        name.startsWith('-') ? `Unknown option "${name}": a command comes first.` : `Unknown command "${name}".`,
      );
    }
    const args = parseCommandArgs(command, rest);
    if (args === null) {
      ctx.print(formatCommandHelp(command));
      return 0;
    }
    return (await command.run(args, ctx)) ?? 0;
  } catch (error) {
    bar.finish();
    if (error instanceof UsageError) {
      const usage = command ? `Usage: ${formatUsageLine(command)}\n` : '';
      const more = command ? `'landmark-studio ${command.name} --help'` : `'landmark-studio --help'`;
      io.stderr.write(`error: ${error.message}\n${usage}Run ${more} for more.\n`);
      return 2;
    }
    if (error instanceof ApiError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    const debug = io.env.LANDMARK_STUDIO_DEBUG ? `\n${(error as Error).stack}` : '';
    io.stderr.write(`error: ${(error as Error).message ?? String(error)}${debug}\n`);
    return 1;
  }
}
