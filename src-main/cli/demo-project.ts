// The demo project `serve` opens when no project is named: the bundled demo images copied into
// the per-user data folder, made a project and labeled on first use, so a new user sees
// labeled images at once. A marker written last tells a finished demo from an interrupted one.
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectInfo } from '../../src-shared/domain.js';
import { importableLabelsJson, type DemoLabels } from '../ml/demo/writeDataset.js';
import { dataHome, DEMO_SOURCE_DIR } from './paths.js';
import type { Session } from './session.js';

const READY_MARKER = '.demo-ready';

/** Where the demo project lives. */
export function demoProjectDir(env: NodeJS.ProcessEnv): string {
  return join(dataHome(env), 'demo');
}

export async function openDemoProject(
  session: Session,
  env: NodeJS.ProcessEnv,
  sourceDir: string = DEMO_SOURCE_DIR,
): Promise<ProjectInfo> {
  const projectDir = demoProjectDir(env);
  if (existsSync(join(projectDir, READY_MARKER))) return session.call('project.open', { projectDir });

  const sourceImages = join(sourceDir, 'images');
  const sourceLabels = join(sourceDir, 'labels.json');
  if (!existsSync(sourceImages) || !existsSync(sourceLabels)) {
    throw new Error(
      `The demo data is missing (${sourceDir} needs images/ and labels.json): name a project folder, or use --empty.`,
    );
  }
  // Without the marker the folder is a first use that was interrupted: start it again.
  await rm(projectDir, { recursive: true, force: true });
  await mkdir(projectDir, { recursive: true });
  const imageRoot = join(projectDir, 'images');
  await cp(sourceImages, imageRoot, { recursive: true });
  await session.call('project.create', { projectDir, imageRoot, name: 'Demo' });
  // The bundled labels are the generator's; import them the way a user's labels.json comes in.
  const labelsFile = join(projectDir, 'labels.json');
  const generated = JSON.parse(await readFile(sourceLabels, 'utf8')) as DemoLabels;
  await writeFile(labelsFile, importableLabelsJson(generated));
  await session.call('io.import', { format: 'labels', file: labelsFile });
  await writeFile(join(projectDir, READY_MARKER), `${new Date().toISOString()}\n`);
  return session.call('project.info', {});
}
