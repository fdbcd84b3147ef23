// Where the CLI finds what ships with the app, and where per-user data goes.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The renderer built by `electron-vite build`, served by `serve`. */
export const RENDERER_DIR = join(REPO_ROOT, 'out', 'renderer');

/** The bundled demo image set (images/ and labels.json). */
export const DEMO_SOURCE_DIR = join(REPO_ROOT, 'resources', 'demo');

/** Per-user data: $LANDMARK_STUDIO_HOME, else ~/.landmark-studio. */
export function dataHome(env: NodeJS.ProcessEnv): string {
  return env.LANDMARK_STUDIO_HOME ? resolve(env.LANDMARK_STUDIO_HOME) : join(homedir(), '.landmark-studio');
}
