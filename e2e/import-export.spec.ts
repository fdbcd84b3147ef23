// Import and export through the panel: a COCO export of labels made in the UI, a bad path that
// gets a clear error, and the exported file imported back with its report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { clickImagePoint, e2eDirs, newProject, screenshot, startLabeling, watchPageHealth } from './app.js';

test('export labels as COCO, reject a missing file, import the export back', async ({ page }) => {
  const health = watchPageHealth(page);
  const root = e2eDirs().root;
  const exported = join(root, 'io-export.json');
  await newProject(page, 'io-project', ['left eye', 'right eye']);
  await startLabeling(page);
  await clickImagePoint(page, 195, 195);
  await clickImagePoint(page, 245, 195);
  await expect(page.getByTestId('image-progress')).toHaveText('2/2 keypoints');

  await page.getByRole('button', { name: 'Import / export' }).click();
  await expect(page.getByRole('heading', { name: 'Export labels' })).toBeVisible();
  await screenshot(page, 'import-export');
  await page.getByLabel('Format').last().selectOption('coco');
  await page.getByLabel('Write to').fill(exported);
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(page.getByTestId('export-report')).toHaveText(`Wrote the labels of 1 image to ${exported}.`);
  const coco = JSON.parse(readFileSync(exported, 'utf8')) as { annotations: { keypoints: number[] }[] };
  expect(coco.annotations).toHaveLength(1);
  expect(coco.annotations[0]!.keypoints.slice(0, 2).map(Math.round)).toEqual([195, 195]);

  const missing = join(root, 'no-such-file.json');
  await page.getByLabel('File', { exact: true }).fill(missing);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('io-error')).toContainText(missing);

  await page.getByLabel('File', { exact: true }).fill(exported);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('import-report')).toContainText('Imported 2 points on 1 image.');
  await expect(page.getByTestId('io-error')).toHaveCount(0);
  await screenshot(page, 'import-export-report');
  expect(health).toEqual([]);
});
