// The command registry: order here is the order in `landmark-studio --help`.
import type { Command } from '../command.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { initCommand } from './init.js';
import { serveCommand } from './serve.js';
import { demoCommand } from './demo.js';
import { evaluateCommand } from './evaluate.js';
import { predictCommand } from './predict.js';
import { runsCommand } from './runs.js';
import { splitCommand } from './split.js';
import { suggestCommand } from './suggest.js';
import { trainCommand } from './train.js';
import { pretrainCommand } from './pretrain.js';
import { matchCommand } from './match.js';

export const commands: readonly Command[] = [
  initCommand,
  importCommand,
  exportCommand,
  infoCommand,
  serveCommand,
  splitCommand,
  pretrainCommand,
  trainCommand,
  predictCommand,
  evaluateCommand,
  suggestCommand,
  matchCommand,
  runsCommand,
  demoCommand,
];

export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}
