// Parsing of the numeric and choice flags of the run commands (split, train, pretrain, predict,
// evaluate, demo): a bad value is a usage error naming the flag and what it accepts.
import { stringOption, UsageError, type CommandArgs } from '../command.js';

export function integerOption(
  args: CommandArgs,
  name: string,
  command: string,
  range: { min: number; max: number },
): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new UsageError(
      `Invalid --${name} "${text}": expected a whole number from ${range.min} to ${range.max}.`,
      command,
    );
  }
  return value;
}

/** A positive number of minutes (fractions allowed: 0.5 = 30 s). */
export function minutesOption(args: CommandArgs, name: string, command: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!(Number.isFinite(value) && value > 0)) {
    throw new UsageError(
      `Invalid --${name} "${text}": expected a positive number of minutes, e.g. 30 or 0.5 (a budget of zero trains nothing).`,
      command,
    );
  }
  return value;
}

export function fractionOption(args: CommandArgs, name: string, command: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!(value >= 0 && value <= 1))
    throw new UsageError(`Invalid --${name} "${text}": expected a fraction from 0 to 1, e.g. 0.2.`, command);
  return value;
}

export function choiceOption<T extends string>(
  args: CommandArgs,
  name: string,
  command: string,
  choices: readonly T[],
): T | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`Invalid --${name} "${text}": expected one of ${choices.join(', ')}.`, command);
  }
  return text as T;
}

/** `--features random|<run-id>`; `what` names the runs it takes in the message. */
export function featuresOption(
  args: CommandArgs,
  command: string,
  what = 'a pretraining or training run',
): 'random' | number | undefined {
  const text = stringOption(args, 'features');
  if (text === undefined || text === 'random') return text;
  const id = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(id) && id >= 1))
    throw new UsageError(`Invalid --features "${text}": expected 'random' or the id of ${what}.`, command);
  return id;
}

/** The required `--run <id>`. */
export function runIdOption(args: CommandArgs, command: string): number {
  const id = integerOption(args, 'run', command, { min: 1, max: Number.MAX_SAFE_INTEGER });
  if (id === undefined)
    throw new UsageError('Missing --run <id>: the id of a training run (printed by train as "run <id>").', command);
  return id;
}

export const SEED_RANGE = { min: 0, max: 2 ** 31 };
