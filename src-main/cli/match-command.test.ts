// `match` and `evaluate --matching` through the real binary on a small demo project (crops),
// with random-init descriptors: the printed match, second peak and overlay id, the Tab. 1 table,
// and the usage errors.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatchingEvaluation } from '../../src-shared/domain.js';
import { createDemoProject } from './commands/demo.js';
import { openSession } from './session.js';

const BIN = resolve(import.meta.dirname, '../../bin/landmark-studio.mjs');
let root: string;
let files: string[];

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: root, env: { ...process.env, LANDMARK_STUDIO_HOME: join(root, 'home') } },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-match-cli-'));
  const session = openSession(root);
  try {
    await createDemoProject(session, join(root, 'demo'), { regime: 'crop', labels: 4, testImages: 2, seed: 5 });
    files = (await session.call('images.list', {})).items.map((i) => i.relPath);
  } finally {
    await session.close();
  }
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('match and evaluate --matching', { timeout: 120_000 }, () => {
  it('match prints the match, its score, the second peak and the overlay', async () => {
    const out = await cli(
      'match',
      'demo/project',
      '--features',
      'random',
      '--ref',
      files[0]!,
      '--point',
      'nose',
      '--target',
      files[1]!,
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(`^nose of ${files[0]} on ${files[1]}: \\(-?[\\d.]+, -?[\\d.]+\\), score [\\d.]+\\n`),
    );
    expect(out.stdout).toMatch(/ {2}(second peak: \(.*\), score [\d.]+, margin [\d.]+|no second peak)\n/);
    expect(out.stdout).toMatch(/\noverlay \d+\n$/);
  });

  it('refuses bad usage, a point outside the reference and the same image, saying why', async () => {
    const missing = await cli('match', 'demo/project', '--features', 'random', '--ref', files[0]!);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('match needs --features, --ref, --point and --target.');
    const base = ['match', 'demo/project', '--features', 'random', '--ref', files[0]!];
    const outside = await cli(...base, '--point', '5000,3', '--target', files[1]!);
    expect(outside.stderr).toMatch(/The point \(5000, 3\) is outside the reference image/);
    const same = await cli(...base, '--point', 'nose', '--target', files[0]!);
    expect(same.stderr).toMatch(/The reference and the target are the same image/);
    const unknown = await cli(...base, '--point', 'whisker', '--target', files[1]!);
    expect(unknown.stderr).toMatch(/No keypoint named whisker/);
    const noFeatures = await cli('evaluate', 'demo/project', '--matching');
    expect(noFeatures.stderr).toMatch(/evaluate --matching needs --features/);
  });

  it('evaluate --matching prints the same/different table, or JSON', async () => {
    const out = await cli('evaluate', 'demo/project', '--matching', '--features', 'random', '--pairs', '3');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Matching with random-init descriptors/);
    expect(out.stdout).toMatch(/all keypoints +[\d.]+ +[\d.]+/);
    expect(out.stdout).toMatch(/\n {2}tail_tip /);
    const json = await cli('evaluate', 'demo/project', '--matching', '--features', 'random', '--pairs', '2', '--json');
    const parsed = JSON.parse(json.stdout) as MatchingEvaluation;
    expect(parsed.different.pairs).toBe(2);
    expect(parsed.same.points).toBeGreaterThan(0);
  });
});
