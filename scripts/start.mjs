// `npm start`: build with electron-vite and open the desktop app (Electron on out/main).
// `npm run serve -- [project-dir] [options]` (this script with `serve` first): build the renderer
// when out/renderer is missing or older than its sources, then run `landmark-studio serve`, which
// prints the URL to open in a browser.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const [mode, ...rest] = process.argv.slice(2);

/** Newest modification time (ms) of the files under `path`. */
function newestMtime(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

function build() {
  const cli = join(dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  const result = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('The build failed (see above).');
    process.exit(1);
  }
}

if (mode === 'serve') {
  const builtAt = newestMtime(join(root, 'out', 'renderer', 'index.html'));
  const sources = ['src-renderer', 'src-shared', 'electron.vite.config.ts', 'package.json'];
  if (builtAt === 0 || sources.some((source) => newestMtime(join(root, source)) > builtAt)) build();
  // The CLI reads process.argv: make it `landmark-studio serve ...`.
  process.argv = [process.argv[0], join(root, 'bin', 'landmark-studio.mjs'), 'serve', ...rest];
  await import('../bin/landmark-studio.mjs');
} else {
  let electronBinary;
  try {
    electronBinary = require('electron'); // the binary's path; throws when it was never downloaded
  } catch {
    console.error(
      "Electron's binary is not installed on this machine (get it with `node node_modules/electron/install.js` where the download works); run `npm run serve` to open the same UI in a browser.",
    );
    process.exit(1);
  }
  if (!existsSync(electronBinary)) {
    console.error(
      `Electron's binary is missing (${electronBinary}); run \`npm run serve\` to open the same UI in a browser.`,
    );
    process.exit(1);
  }
  build();
  const child = spawn(electronBinary, [root, ...(mode === undefined ? [] : [mode]), ...rest], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
