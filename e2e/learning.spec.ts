// The learning loop in the app, with real jobs on tiny images: a project over generated frames
// with 10 of them labeled, a short dense contrastive pretraining started, paused and resumed from
// the Pretrain screen while its loss chart gains points, a training on its features queued behind
// it from the Train screen (it waits, then runs), and the training's evaluation. The status bar
// names the compute engine.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { importableLabelsJson, writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { e2eDirs, openStartScreen, screenshot } from './app.js';
import { E2E_TOKEN } from './host.js';

const FRAMES = 16;
const LABELED = 10;

test('pretrain, pause, resume, queue a training on its features, see its evaluation', async ({ page, request }) => {
  test.setTimeout(300_000);
  const { root } = e2eDirs();
  const frames = join(root, 'learning-frames');
  const labels = await writeDemoDataset(frames, { regime: 'crop', count: FRAMES, seed: 4, size: 96 });
  const labelFile = join(root, 'learning-labels.json');
  await writeFile(
    labelFile,
    importableLabelsJson(labels, new Set(labels.items.slice(0, LABELED).map((item) => item.file))),
  );

  await openStartScreen(page);
  await page.locator('#image-root').fill(frames);
  await page.locator('#project-dir').fill(join(root, 'learning-project'));
  await page.getByRole('button', { name: 'Create project' }).click();
  // Every frame is readable: no scan report, straight to the (empty) keypoint schema.
  await expect(page.getByRole('heading', { name: 'Keypoints' })).toBeVisible();
  const imported = await request.post('/api/io.import', {
    headers: { Authorization: `Bearer ${E2E_TOKEN}` },
    data: { format: 'labels', file: labelFile },
  });
  const answer = await imported.json();
  expect(answer, JSON.stringify(answer)).toMatchObject({ ok: true, result: { images: LABELED } });
  await page.reload(); // the app reads the imported labels afresh

  // The status bar names the engine the jobs run on.
  await expect(page.getByTestId('status-engine')).toContainText(/CPU: native TensorFlow|GPU: native TensorFlow/, {
    timeout: 60_000,
  });

  await page.getByRole('button', { name: 'Pretrain', exact: true }).click();
  await expect(page.locator('#pretrain-method')).toHaveValue('dense-contrastive');
  await page.locator('#pretrain-size').fill('32');
  await page.locator('#pretrain-minutes').fill('0.4');
  await expect(page.getByTestId('pretrain-estimate')).toContainText(`epochs of ${FRAMES} images`);
  await screenshot(page, 'pretrain-form');
  await page.getByRole('button', { name: 'Start pretraining' }).click();

  const monitor = page.getByTestId('run-monitor');
  const lossCurve = monitor.locator('figure[aria-label="Loss"] path').first();
  await expect(monitor).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  await expect
    .poll(async () => Number(await lossCurve.getAttribute('data-points')), { timeout: 60_000 })
    .toBeGreaterThan(2);
  const before = Number(await lossCurve.getAttribute('data-points'));
  await expect.poll(async () => Number(await lossCurve.getAttribute('data-points'))).toBeGreaterThan(before);
  await expect(page.getByTestId('run-stats')).toContainText('images/s');
  await screenshot(page, 'pretrain-running');

  await monitor.getByRole('button', { name: 'Pause' }).click();
  await expect(monitor).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
  await screenshot(page, 'pretrain-paused');
  await monitor.getByRole('button', { name: 'Resume' }).click();
  await expect(monitor).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  const pretrainRunId = await monitor.getAttribute('data-run-id');

  // Queue a training on the running pretraining's features: it waits, then runs.
  await page.getByRole('button', { name: 'Train on it' }).first().click();
  await expect(page.locator('#train-features')).toHaveValue(pretrainRunId!);
  await page.locator('#split-fraction').fill('0.4');
  await page.getByRole('button', { name: 'Make the split' }).click();
  await expect(page.getByTestId('train-estimate')).toContainText(/labeled test images/);
  await page.locator('#train-size').fill('96');
  await page.getByLabel('Budget unit').selectOption('steps');
  await page.locator('#train-budget').fill('15');
  await page.getByRole('button', { name: 'Start training' }).click();
  const trainMonitor = page.getByTestId('run-monitor');
  await expect(trainMonitor).toHaveAttribute('data-status', 'queued');
  await expect(trainMonitor).toContainText('1 run ahead of it');
  await screenshot(page, 'train-queued');
  await expect(trainMonitor).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  await expect(trainMonitor).toHaveAttribute('data-status', 'done', { timeout: 180_000 });

  const evaluation = page.getByTestId('evaluation');
  await expect(evaluation).toContainText('Mean shape', { timeout: 60_000 });
  await expect(evaluation.locator('.bar')).not.toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Training runs' })).toContainText(/\d+\.\d px/);
  await screenshot(page, 'train-evaluated');
});
