// The command registry: order here is the order in `landmark-studio --help`.
import type { Command } from '../command.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { initCommand } from './init.js';
import { serveCommand } from './serve.js';

export const commands: readonly Command[] = [initCommand, importCommand, exportCommand, infoCommand, serveCommand];

export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}
