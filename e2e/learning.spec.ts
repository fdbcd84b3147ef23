// The learning loop in the app, with real jobs on tiny images: a project over generated frames
// with 10 of them labeled, a short dense contrastive pretraining started, paused and resumed from
// the Pretrain screen while its loss chart gains points, a training on its features queued behind
// it from the Train screen (it waits, then runs), the training's evaluation, then every image
// predicted and reviewed (one accepted by key, one point corrected by dragging, both in SQLite with
// the prediction kept beside them) and a retrain that uses the new labels. The status bar
// names the compute engine.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { expect, test } from '@playwright/test';
import { importableLabelsJson, writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { e2eDirs, openStartScreen, screenshot } from './app.js';
import { E2E_TOKEN } from './host.js';

const FRAMES = 16;
const LABELED = 10;

test('the app loop: pretrain, pause, resume, queue a training on its features, evaluate, predict, review, correct, retrain', async ({
  page,
  request,
}) => {
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

  // Review: predict every image with the trained model, least confident first.
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await page.getByRole('button', { name: 'Predict all images' }).click();
  const reviewList = page.getByRole('list', { name: 'Images in review order' });
  const items = reviewList.getByRole('button');
  await expect(items).toHaveCount(FRAMES, { timeout: 120_000 });
  const scores = (await items.locator('.score').allTextContents()).map(Number);
  expect(scores).toEqual([...scores].sort((a, b) => a - b));
  const reviewCanvas = page.getByTestId('review-canvas');
  const projectDb = join(root, 'learning-project', 'project.sqlite');
  const readDb = <T>(sql: string): T[] => {
    const db = new Database(projectDb, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  };
  await expect(reviewCanvas).toHaveAttribute('data-drawn-image-id', /^\d+$/);
  await screenshot(page, 'review');

  // The maps behind a prediction, stored by the prediction run: H the head's heatmap, M the match
  // from the most similar labeled image, with its reference point and second peak.
  const mapNote = page.getByTestId('map-note');
  await page.keyboard.press('h');
  await expect(mapNote).toContainText("The head's heatmap");
  await expect(reviewCanvas).toHaveAttribute('data-map', /^\d+x\d+$/);
  await page.keyboard.press('m');
  await expect(mapNote).toContainText('Similarity to the reference point');
  await expect(page.getByRole('figure', { name: 'Reference point' })).toBeVisible();
  await screenshot(page, 'review-match-map');
  const runsBefore = readDb<{ n: number }>('SELECT count(*) AS n FROM runs')[0]!.n;
  await page.reload();
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await expect(reviewCanvas).toHaveAttribute('data-drawn-image-id', /^\d+$/);
  await page.keyboard.press('m');
  await expect(mapNote).toContainText('Similarity to the reference point'); // read back from SQLite
  expect(readDb<{ n: number }>('SELECT count(*) AS n FROM runs')[0]!.n).toBe(runsBefore); // nothing recomputed
  await page.keyboard.press('m');
  await expect(reviewCanvas).toHaveAttribute('data-map', '');

  // "Where is this point elsewhere?": a labeled point matched live on the next image, stored; asked
  // again after a reload, it is read back from SQLite (no new overlay computed).
  const overlays = () => readDb<{ n: number }>('SELECT count(*) AS n FROM overlays')[0]!.n;
  const askAndGoNext = async () => {
    await page.getByLabel('Filter').selectOption('labeled');
    await expect(items).toHaveCount(LABELED);
    const firstPath = (await items.first().getAttribute('title'))!;
    const from = String(readDb<{ id: number }>(`SELECT id FROM images WHERE rel_path = '${firstPath}'`)[0]!.id);
    await expect(reviewCanvas).toHaveAttribute('data-image-id', from);
    await page.getByRole('button', { name: 'Where is this point elsewhere?' }).click();
    await expect(mapNote).toContainText('go to another image');
    await page.keyboard.press('d');
    await expect(reviewCanvas).not.toHaveAttribute('data-image-id', from);
    await expect(mapNote).toContainText('Similarity to the reference point', { timeout: 60_000 });
    await expect(page.getByRole('figure', { name: 'Reference point' })).toContainText(`labeled on image ${from}`);
  };
  const overlaysBefore = overlays();
  await askAndGoNext();
  const asked = overlays();
  expect(asked).toBe(overlaysBefore + 1);
  await screenshot(page, 'review-your-point');
  await page.reload();
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await askAndGoNext();
  expect(overlays()).toBe(asked);
  await page.getByLabel('Filter').selectOption('all');

  // Accept an unlabeled train image by key, then correct a point of another by dragging (train
  // images, so the retrained model's labels grow).
  const unlabeledTrain = readDb<{ id: number; rel_path: string }>(
    "SELECT id, rel_path FROM images WHERE labeled_count = 0 AND coalesce(split, 'train') = 'train' ORDER BY rel_path",
  );
  expect(unlabeledTrain.length).toBeGreaterThanOrEqual(2);
  await page.getByLabel('Filter').selectOption('unlabeled');
  await expect(items).toHaveCount(FRAMES - LABELED);
  await reviewList.getByTitle(unlabeledTrain[0]!.rel_path).click();
  const acceptedImage = String(unlabeledTrain[0]!.id);
  await expect(reviewCanvas).toHaveAttribute('data-image-id', acceptedImage);
  await reviewCanvas.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('review-progress')).toContainText('1 / 16 reviewed');
  await reviewList.getByTitle(unlabeledTrain[1]!.rel_path).click();
  const correctedImage = unlabeledTrain[1]!.id;
  await expect(reviewCanvas).toHaveAttribute('data-image-id', String(correctedImage));
  const point = page.getByRole('list', { name: 'Points of this image' }).getByRole('button').first();
  await expect(point).toContainText('predicted');
  const predicted = (await request
    .post('/api/predictions.list', {
      headers: { Authorization: `Bearer ${E2E_TOKEN}` },
      data: { runId: Number(await page.locator('#review-run').inputValue()), imageId: correctedImage },
    })
    .then((r) => r.json())) as { result: { keypointId: number; x: number; y: number }[] };
  const first = predicted.result[0]!;
  const view = JSON.parse((await reviewCanvas.getAttribute('data-view'))!) as { scale: number; x: number; y: number };
  const box = (await reviewCanvas.boundingBox())!;
  const at = (x: number, y: number) => ({ x: box.x + x * view.scale + view.x, y: box.y + y * view.scale + view.y });
  // Names and confidences are off (N shows them all); a point's shows while the pointer is on it.
  const last = predicted.result.at(-1)!;
  const hovered = at(last.x, last.y);
  const tag = { x: hovered.x, y: hovered.y - 30, width: 130, height: 30 };
  const unhovered = await page.screenshot({ clip: tag });
  await page.mouse.move(hovered.x, hovered.y);
  await expect.poll(async () => (await page.screenshot({ clip: tag })).equals(unhovered)).toBe(false);
  await screenshot(page, 'review-hover');
  const from = at(first.x, first.y);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + 20, from.y + 12, { steps: 5 });
  await page.mouse.up();
  // The point under the cursor (another may lie on top of the first) is now a correction; the
  // image has a label now, so the unlabeled filter moves on to the next one.
  await expect(page.getByTestId('review-progress')).toContainText('1 corrected');
  await screenshot(page, 'review-corrected');

  // After a reload, SQLite holds both, with the predicted positions kept beside them.
  await page.reload();
  const rows = readDb<{ image_id: number; keypoint_id: number; x: number; source: string; predicted_x: number | null }>(
    "SELECT image_id, keypoint_id, x, y, source, predicted_x, predicted_y, predicted_run_id FROM annotations WHERE source != 'human'",
  );
  expect(rows.filter((r) => r.source === 'accepted' && r.image_id === Number(acceptedImage)).length).toBeGreaterThan(0);
  const corrected = rows.find((r) => r.source === 'corrected');
  expect(corrected).toMatchObject({ image_id: correctedImage });
  const itsPrediction = predicted.result.find((p) => p.keypointId === corrected!.keypoint_id)!;
  expect(corrected!.predicted_x).toBeCloseTo(itsPrediction.x, 3);
  expect(Math.abs(corrected!.x - itsPrediction.x)).toBeGreaterThan(1);

  // Retrain on human, accepted and corrected labels: the new version uses more labeled images.
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await page.getByRole('button', { name: 'Retrain with corrections' }).click();
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const versions = page.getByRole('table', { name: 'Training runs' }).locator('tbody tr');
  await expect(versions).toHaveCount(2);
  await expect(versions.first().locator('td').nth(1)).toHaveText('done', { timeout: 180_000 });
  const labelsUsed = await versions.locator('td:nth-child(5)').allTextContents();
  expect(Number(labelsUsed[0])).toBe(Number(labelsUsed[1]) + 2);

  // Pre-labels: on an unlabeled image the newest prediction run's points show hollow; Y accepts them.
  await page.getByRole('button', { name: 'Label', exact: true }).click();
  await page
    .getByRole('radiogroup', { name: 'Show' })
    .getByRole('radio', { name: /unlabeled/i })
    .click();
  const prelabels = page.locator('label.prelabels');
  await expect(prelabels).toContainText(/Pre-labels \(run \d+\): 11, Y accepts/);
  await screenshot(page, 'label-prelabels');
  await page.keyboard.press('y');
  await expect(page.getByTestId('image-progress')).toContainText('11/11 keypoints');
  await expect(prelabels).not.toContainText('Y accepts');

  // "Label these next": the model's features computed as a queued run, then unlabeled images to label.
  await page.getByRole('button', { name: 'Review', exact: true }).click();
  await page.getByRole('button', { name: 'Label these next' }).click();
  const suggested = page.getByTestId('suggestions').getByRole('button');
  await expect(suggested).toHaveCount(3, { timeout: 120_000 });
  await screenshot(page, 'review-suggestions');
  // The same suggestions as a filter of the labeling screen's image list.
  const titles = await suggested.evaluateAll((buttons) => buttons.map((b) => b.getAttribute('title')));
  await page.getByRole('button', { name: 'Label', exact: true }).click();
  await page.getByRole('radiogroup', { name: 'Show' }).getByRole('radio', { name: 'Label next' }).click();
  const suggestedRows = page.getByTestId('image-row');
  await expect(suggestedRows).toHaveCount(3);
  await expect(page.getByTestId('image-count')).toHaveText('3 images');
  expect(
    new Set(await suggestedRows.locator('.name').evaluateAll((names) => names.map((n) => n.getAttribute('title')))),
  ).toEqual(new Set(titles));
  await screenshot(page, 'label-suggested');
});
