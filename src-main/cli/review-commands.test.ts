// The review commands through the CLI entry point in this process, on a tiny trained project:
// suggest (computing the run's features first), export of provenance, and bad usage.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, workspace, writePng, type Workspace } from '../services/testing/fixtures.js';
import { main } from './main.js';

let ws: Workspace;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  let [out, err] = ['', ''];
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(args, { stdout, stderr, env: {}, cwd: ws.dir });
  return { code, stdout: out, stderr: err };
}

beforeAll(async () => {
  ws = workspace('ls-review-cli-');
  for (let i = 0; i < 8; i++) await writePng(path.join(ws.imageRoot, `img${i}.png`), 48 + 3 * i, 40);
  const t = testServices();
  await t.call('project.create', { projectDir: ws.projectDir, imageRoot: ws.imageRoot });
  await t.call('keypoints.add', { name: 'nose' });
  const { keypoints } = await t.call('keypoints.add', { name: 'tail' });
  const images = (await t.call('images.list', {})).items;
  for (const image of images.slice(0, 3)) {
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[0]!.id, x: 12, y: 10 });
    await t.call('annotations.set', { imageId: image.id, keypointId: keypoints[1]!.id, x: 30, y: 20 });
  }
  await t.call('runs.train', { head: 'heatmap', backbone: 'smallnet', size: 48, steps: 2 });
  t.services.close();
}, 300_000);

afterAll(() => ws?.cleanup());

describe('review commands', { timeout: 300_000 }, () => {
  it('suggest computes the features once and lists unlabeled images', async () => {
    const first = await cli('suggest', 'project', '--run', '1', '--count', '2');
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/Computed the features of training run 1 \(run 2\)/);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^img[3-7]\.png {2}\(image \d+\) {2}distance \d+\.\d{3}$/);
    const again = await cli('suggest', 'project', '--run', '1', '--count', '2', '--json');
    expect(again.stderr).not.toMatch(/Computed the features/);
    expect((JSON.parse(again.stdout) as unknown[]).length).toBe(2);
  });

  it('export --provenance-csv writes one row per label', async () => {
    const done = await cli('export', 'project', '--provenance-csv', 'provenance.csv');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/Exported 6 labels to .*provenance\.csv \(provenance-csv\)/);
    const rows = readFileSync(path.join(ws.dir, 'provenance.csv'), 'utf8').trim().split('\n');
    expect(rows[1]).toBe('img0.png,,,,,nose,,,12,10,visible,human,');
  });

  it('refuses bad usage with a pointer to the flag', async () => {
    const missing = await cli('suggest', 'project');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Missing --run <id>/);
    const count = await cli('suggest', 'project', '--run', '1', '--count', '0');
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(/Invalid --count "0": expected a whole number from 1 to 10000/);
    const notTrained = await cli('suggest', 'project', '--run', '2');
    expect(notTrained.code).not.toBe(0);
    expect(notTrained.stderr).toMatch(/Run 2 is a features run, not a training run/);
  });
});
