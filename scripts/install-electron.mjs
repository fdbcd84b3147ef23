// Postinstall: fetches Electron's binary by running the electron package's own install script
// (package.json's allowScripts skips it in npm's run, where a failed download would stop the whole
// install). Where the download fails (an offline machine, a blocked host), this prints one line
// saying so and what still works, and the install goes on: the CLI, `npm run serve` and the tests
// need no Electron binary.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The command that fetches the binary later, from the project root. */
export const LATER_COMMAND = 'node node_modules/electron/install.js';

/** The first line of the failed install's output that says what went wrong, cut to a line's length. */
export function failureSummary(output) {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const reason = lines.find((line) => /error/i.test(line) && !line.startsWith('at ')) ?? lines[0] ?? 'no output';
  return reason.length > 160 ? `${reason.slice(0, 157)}...` : reason;
}

/** The one line printed when the download fails. */
export function failureLine(reason) {
  return (
    `Electron's binary could not be downloaded (${reason}): the desktop app (\`npm start\`) needs it, ` +
    `the command line, \`npm run serve\` and the tests do not. Get it later, where the download works, ` +
    `with \`${LATER_COMMAND}\`.`
  );
}

/**
 * Runs `installScript` (electron's install.js) and returns what to print: null when it succeeded,
 * else the one line saying what failed. Never throws for a failed download.
 */
export function installElectron(installScript, env = process.env) {
  const result = spawnSync(process.execPath, [installScript], { env, encoding: 'utf8' });
  if (result.status === 0) return null;
  const output = `${result.stderr ?? ''}\n${result.stdout ?? ''}`;
  return failureLine(result.error ? result.error.message : failureSummary(output));
}

function main() {
  const require = createRequire(import.meta.url);
  let installScript;
  try {
    installScript = path.join(path.dirname(require.resolve('electron/package.json')), 'install.js');
  } catch {
    return; // electron is a dev dependency: an install without them has nothing to fetch
  }
  const line = installElectron(installScript);
  if (line !== null) console.warn(line);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
