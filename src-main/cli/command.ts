// What a CLI command is: its usage (from which argument parsing and --help are derived) and its
// run function. Adding a command = one file in commands/ plus one line in commands/index.ts.
import { parseArgs } from 'node:util';
import type { Session, SessionOptions } from './session.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in help for string options, e.g. `<dir>`. */
  value?: string;
  short?: string;
  /** Shown in the usage line; missing -> usage error. */
  required?: boolean;
  /** A string option that may be given several times (its value is then a list). */
  multiple?: boolean;
  description: string;
}

export interface PositionalSpec {
  name: string;
  optional?: boolean;
  description: string;
}

export type OptionValues = Record<string, string | string[] | boolean | undefined>;

export interface CommandArgs {
  positionals: string[];
  options: OptionValues;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliContext {
  io: CliIo;
  /**
   * Runs `work` with services whose progress shows on stderr, closing them afterwards. Options:
   * where API paths may point (default: anywhere, as typed by the person at this machine), and
   * whether this process executes the run queue (serve).
   */
  withSession<T>(work: (session: Session) => Promise<T>, options?: SessionOptions): Promise<T>;
  /** Prints a line on stdout (after finishing any progress bar line). */
  print(line: string): void;
  /** Prints a line on stderr. */
  warn(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
  /** Rules and examples shown under the options in --help. */
  details?: string;
  /** Returns the exit code (0 when omitted). */
  run(args: CommandArgs, ctx: CliContext): Promise<number | void>;
}

/** Bad command-line usage: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

/** Parses argv for `command`; returns null when --help was asked for. */
export function parseCommandArgs(command: Command, argv: string[]): CommandArgs | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...command.options, help: HELP_OPTION },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs' messages name the flag; drop its hint about `--` that does not apply here.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new UsageError(message, command.name);
  }
  if (parsed.values.help === true) return null;
  const { help: _help, ...rest } = parsed.values;
  const options = rest as OptionValues;
  const max = command.positionals.length;
  const required = command.positionals.filter((p) => !p.optional);
  if (parsed.positionals.length > max) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[max]}".`, command.name);
  }
  const missing = required[parsed.positionals.length];
  if (missing) throw new UsageError(`Missing <${missing.name}>.`, command.name);
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.required && options[name] === undefined) {
      throw new UsageError(`Missing --${name} ${spec.value ?? '<value>'}: ${spec.description}.`, command.name);
    }
  }
  return { positionals: parsed.positionals, options };
}

export function formatUsageLine(command: Command): string {
  const positionals = command.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`));
  const required = Object.entries(command.options)
    .filter(([, spec]) => spec.required)
    .map(([name, spec]) => `--${name} ${spec.value ?? '<value>'}`);
  return ['landmark-studio', command.name, ...positionals, ...required, '[options]'].join(' ');
}

export function formatCommandHelp(command: Command): string {
  const rows: [string, string][] = [
    ...command.positionals.map((p): [string, string] => [p.optional ? `[${p.name}]` : `<${p.name}>`, p.description]),
    ...Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, spec]): [string, string] => {
      const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
      return [flag, spec.description];
    }),
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    `Usage: ${formatUsageLine(command)}`,
    '',
    command.summary,
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
  ];
  if (command.details) lines.push('', command.details);
  return lines.join('\n');
}

/** A string option's value, or undefined. */
export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a `multiple` string option, in the order given. */
export function stringListOption(args: CommandArgs, name: string): string[] {
  const value = args.options[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}
