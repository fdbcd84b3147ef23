// The run commands (split, train, predict, evaluate, runs, demo) through the real
// `landmark-studio` binary on a small generated demo project: output, `run <id>` lines, JSON,
// exit codes and messages for bad usage and bad ids. Accuracy is tested in jobs/runs.test.ts.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport, RunRecord } from '../../src-shared/domain.js';
import { createDemoProject } from './commands/demo.js';
import { main } from './main.js';
import { openSession } from './session.js';

const BIN = resolve(import.meta.dirname, '../../bin/landmark-studio.mjs');
let root: string;

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

/** The same entry point in this process: for usage errors, which start no services. */
async function inProcess(...args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await main(args, { stdout: new PassThrough(), stderr, env: {}, cwd: root });
  return { code, stderr: text };
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1)!;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-run-cli-'));
  const session = openSession(root);
  try {
    await createDemoProject(session, join(root, 'demo'), { regime: 'frame', labels: 6, testImages: 4, seed: 9 });
  } finally {
    await session.close();
  }
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('run commands', { timeout: 300_000 }, () => {
  it('split assigns test images from a list or at random', async () => {
    const random = await cli('split', 'demo/project', '--test-fraction', '0.5', '--val-fraction', '0.2', '--seed', '3');
    expect(random.stdout).toContain('Split 10 images: 4 train, 1 val, 5 test');
    const listed = await cli('split', 'demo/project', '--test-list', 'demo/test-images.txt');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('Split 10 images: 6 train, 0 val, 4 test');
  });

  it('train, predict and evaluate end with the run id; evaluate --json has the metrics', async () => {
    const train = await cli(
      'train',
      'demo/project',
      '--backbone',
      'smallnet',
      '--size',
      '64',
      '--steps',
      '3',
      '--labels',
      '4',
    );
    expect(train.stderr).not.toMatch(/^error/m);
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(
      /Trained the heatmap head on 4 labeled images \(smallnet, 64 px, fine-tune all, 3 steps\)/,
    );
    expect(train.stdout).toMatch(/backend: backend=/);
    expect(lastLine(train.stdout)).toBe('run 1');
    expect(train.stderr).toMatch(/^train run 1 3\/3 \(100%\)/m);

    const predict = await cli('predict', 'demo/project', '--run', '1');
    expect(predict.stdout).toContain('Predicted 4 of 4 test images with training run 1');
    expect(lastLine(predict.stdout)).toBe('run 2');

    const json = await cli('evaluate', 'demo/project', '--run', '1', '--split', 'test', '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as EvaluationReport;
    expect(report).toMatchObject({ trainRunId: 1, predictRunId: 2, evaluationRunId: 3, images: 4, points: 44 });
    expect(report.model.pixelError).toBeGreaterThan(0);
    expect(report.baseline.pixelError).toBeGreaterThan(0);
    expect(Object.keys(report.model.perKeypoint)).toContain('nose');
    expect(report.backend).toMatch(/^backend=/);

    const text = await cli('evaluate', 'demo/project', '--run', '2', '--report', 'report.html');
    expect(text.stdout).toMatch(/mean-shape baseline\s+[\d.]+/);
    expect(text.stdout).toContain(`report: ${join(root, 'report.html')}`);
    expect(lastLine(text.stdout)).toBe('run 4');
    // One self-contained file: the 4 test images embedded, nothing fetched from elsewhere.
    const html = readFileSync(join(root, 'report.html'), 'utf8');
    expect(html.match(/href="data:image\/jpeg;base64,/g)).toHaveLength(4);
    expect(html).not.toMatch(/(src|href)="(https?:|file:|\/)/);
    expect(html).toContain('training loss');

    const runs = await cli('runs', 'demo/project');
    expect(
      runs.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(0, 4).join(' ')),
    ).toEqual(['run 1 train heatmap', 'run 2 predict heatmap', 'run 3 evaluate heatmap', 'run 4 evaluate heatmap']);
  });

  it('train --minutes stops within a step of its budget, however many steps fit', async () => {
    const budget = 0.05 * 60; // seconds
    const train = await cli(
      'train',
      'demo/project',
      '--backbone',
      'smallnet',
      '--size',
      '64',
      '--labels',
      '4',
      '--minutes',
      '0.05',
    );
    expect(train.code, train.stderr).toBe(0);
    const [steps, seconds] = /fine-tune all, (\d+) steps in a 0\.05 min budget\) in (\d+\.\d) s/
      .exec(train.stdout)!
      .slice(1)
      .map(Number) as [number, number];
    expect(steps).toBeGreaterThan(1);
    // The step that spent the budget was the last: all steps before it fit in the budget.
    expect(seconds).toBeGreaterThanOrEqual(budget - 0.05); // the printed seconds are rounded to 0.1
    // One step past the budget at most: a step takes about budget / (steps - 1); 3x that and
    // 0.3 s of slack for a loaded machine.
    expect(seconds - budget).toBeLessThan((3 * budget) / (steps - 1) + 0.3);
    const runId = Number(lastLine(train.stdout).split(' ')[1]);
    const json = await cli('runs', 'demo/project', '--json');
    const run = (JSON.parse(json.stdout) as RunRecord[]).find((r) => r.id === runId)!;
    expect(run.config).toMatchObject({ minutes: 0.05 });
    expect(run.metrics).toMatchObject({ steps });
  });

  it('exits 1 naming unknown runs and bad test lists', async () => {
    const unknown = await cli('predict', 'demo/project', '--run', '99');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: No run 99 in this project/m);
    const notTrain = await cli('evaluate', 'demo/project', '--run', '3');
    expect(notTrain.stderr).toMatch(/Run 3 is an evaluation run: evaluate a training run or a prediction run/);
    writeFileSync(join(root, 'names.txt'), 'nothere.png\n000001.png\n');
    const badList = await cli('split', 'demo/project', '--test-list', 'names.txt');
    expect(badList.code).toBe(1);
    expect(badList.stderr).toMatch(/1 name\(s\) match no usable image \(nothere\.png\)\. Nothing was changed/);
    const missing = await cli('split', 'demo/project', '--test-list', 'nope.txt');
    expect(missing.stderr).toMatch(/Cannot read the test list .*nope\.txt: no such file/);
  });

  it('exits 2 on bad usage, naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['split', 'p'], /either --test-fraction <f> or --test-list <file>/],
      [['split', 'p', '--test-fraction', '1.5'], /Invalid --test-fraction "1.5": expected a fraction from 0 to 1/],
      [['train', 'p', '--head', 'linear'], /Invalid --head "linear": expected one of paper, heatmap/],
      [['train', 'p', '--features', 'imagenet'], /Invalid --features "imagenet"/],
      [['train', 'p', '--labels', '0'], /Invalid --labels "0"/],
      [['train', 'p', '--minutes', '0'], /Invalid --minutes "0": expected a positive number of minutes/],
      [['train', 'p', '--minutes=-2'], /Invalid --minutes "-2": expected a positive number of minutes/],
      [['train', 'p', '--minutes', 'ten'], /Invalid --minutes "ten"/],
      [['predict', 'p'], /Missing --run <id>/],
      [['evaluate', 'p', '--run', '1', '--split', 'holdout'], /Invalid --split "holdout"/],
      [['demo', '--regime', 'video'], /Invalid --regime "video"/],
    ];
    for (const [args, message] of cases) {
      const run = await inProcess(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('demo refuses to overwrite a folder that is not an earlier demo', async () => {
    mkdirSync(join(root, 'mine'));
    writeFileSync(join(root, 'mine', 'thesis.tex'), 'precious');
    const run = await inProcess('demo', '--out', 'mine');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--out .*mine is not empty and not an earlier demo/);
  });

  it('demo --quick pretrains, trains on random-init and on pretrained features, and reports them side by side', async () => {
    const run = await cli('demo', '--quick', '--regime', 'frame', '--out', 'quick-demo');
    expect(run.code, run.stderr).toBe(0);
    // The default pretraining, dense contrastive, at its default 48 px views.
    expect(run.stdout).toMatch(
      /Pretrained dense-contrastive \(resnet18, 48 px views\) on 40 unlabeled images .*: run 1\n/,
    );
    expect(run.stdout).toMatch(/Trained the heatmap head on random-init features .*: run 2\n/);
    expect(run.stdout).toMatch(/Trained the heatmap head on pretrained features \(run 1\) .*: run \d+\n/);
    const summary = run.stdout.slice(run.stdout.indexOf('== Demo finished'));
    expect(summary).toMatch(/frame: held-out pixel error \(PCK\) against the mean-shape baseline's \d+\.\d\d/);
    expect(summary).toMatch(/ {2}random-init features: \d+\.\d\d \(\d+% of the baseline\), PCK/);
    expect(summary).toMatch(/ {2}pretrained features \(run 1\): \d+\.\d\d \(\d+% of the baseline\), PCK/);
    const html = readFileSync(join(root, 'quick-demo', 'frame', 'report.html'), 'utf8');
    expect(html).toContain('<th>pretrained features (run 1)</th>');
    expect(html).toContain('<th>random-init features</th>');
    // Both models' training losses in one chart, and the pretraining's against its chance level.
    expect(html).toMatch(/<polyline [^>]*stroke="#2563eb"[^>]*><title>pretrained features \(run 1\)<\/title>/);
    expect(html).toMatch(/<polyline [^>]*stroke="#6b7280"[^>]*><title>random-init features<\/title>/);
    expect(html).toContain('pretraining loss (dense-contrastive, InfoNCE)');
    expect(html).toContain('chance ln(2 x points - 1)');
  }, 600_000);
});
