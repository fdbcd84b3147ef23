// Bad input on the start screen gets a clear message and creates nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { e2eDirs, openStartScreen, screenshot, watchPageHealth } from './app.js';

test('an invalid image folder or project folder shows a clear error', async ({ page }) => {
  const health = watchPageHealth(page);
  const { root, images } = e2eDirs();
  await openStartScreen(page);
  await screenshot(page, 'start-screen');

  const missing = join(root, 'no-such-folder');
  const projectDir = join(root, 'never-created');
  await page.locator('#image-root').fill(missing);
  await page.locator('#project-dir').fill(projectDir);
  await page.getByRole('button', { name: 'Create project' }).click();
  const error = page.getByTestId('start-error');
  await expect(error).toContainText(`The image folder ${missing} does not exist.`);
  await screenshot(page, 'start-screen-error');
  expect(existsSync(join(projectDir, 'project.sqlite'))).toBe(false);

  // A file where a folder is expected.
  const file = join(images, 'frame_000.jpg');
  await page.locator('#image-root').fill(file);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(error).toContainText(`The image folder ${file} is not a folder.`);

  // Opening a folder that holds no project.
  await page.locator('#open-dir').fill(images);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(error).toContainText(`No project in ${images}`);
  await expect(page.locator('#image-root')).toBeVisible();
  expect(health).toEqual([]);
});
