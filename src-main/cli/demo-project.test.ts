// The demo project's first use, reuse and recovery from an interrupted first use, on a small
// generated demo set (the CLI test runs `serve` on the bundled one when it exists).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRITTER_KEYPOINTS } from '../ml/demo/critter.js';
import { writeDemoDataset } from '../ml/demo/writeDataset.js';
import { openDemoProject } from './demo-project.js';
import { openSession } from './session.js';

let root: string;
let source: string;
let env: NodeJS.ProcessEnv;

async function demo() {
  const session = openSession(root);
  try {
    const info = await openDemoProject(session, env, source);
    return { info, keypoints: (await session.call('schema.get', {})).keypoints.map((k) => k.name) };
  } finally {
    await session.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-demo-'));
  source = join(root, 'resources-demo');
  // Three generated images with the generator's own labels.json, as resources/demo holds them.
  await writeDemoDataset(source, { regime: 'crop', count: 3, seed: 1, size: 48 });
  env = { LANDMARK_STUDIO_HOME: join(root, 'home') };
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('demo project', () => {
  it('is created and labeled on first use in $LANDMARK_STUDIO_HOME/demo', async () => {
    const { info, keypoints } = await demo();
    expect(info.dir).toBe(join(root, 'home', 'demo'));
    expect(info.imageRoot).toBe(join(root, 'home', 'demo', 'images'));
    expect(info.counts).toMatchObject({
      images: 3,
      labeledImages: 3,
      annotations: 3 * CRITTER_KEYPOINTS.length,
      keypoints: CRITTER_KEYPOINTS.length,
    });
    expect(keypoints).toEqual([...CRITTER_KEYPOINTS]);
    expect(existsSync(join(root, 'home', 'demo', '.demo-ready'))).toBe(true);
  });

  it('is reopened as it is afterwards, keeping the user changes', async () => {
    const session = openSession(root);
    try {
      await openDemoProject(session, env, source);
      await session.call('keypoints.add', { name: 'wing' });
    } finally {
      await session.close();
    }
    const { info, keypoints } = await demo();
    expect(keypoints).toEqual([...CRITTER_KEYPOINTS, 'wing']);
    expect(info.counts.annotations).toBe(3 * CRITTER_KEYPOINTS.length);
  });

  it('starts again after an interrupted first use', async () => {
    rmSync(join(root, 'home', 'demo', '.demo-ready'));
    const { info, keypoints } = await demo();
    expect(keypoints).toEqual([...CRITTER_KEYPOINTS]);
    expect(info.counts).toMatchObject({ images: 3, annotations: 3 * CRITTER_KEYPOINTS.length });
  });

  it('says what is missing when there is no demo data', async () => {
    const session = openSession(root);
    try {
      await expect(
        openDemoProject(session, { LANDMARK_STUDIO_HOME: join(root, 'other') }, join(root, 'nowhere')),
      ).rejects.toThrow(/demo data is missing .*--empty/);
    } finally {
      await session.close();
    }
  });
});
