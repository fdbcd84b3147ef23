// The image list with 20,000 items: only the rows on screen exist in the page, the end of the
// list is reachable with the keyboard, and filters page through the host. The project is
// written straight into a store (no image files: their pixels are not what is tested here).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { ProjectStore } from '../src-main/store/projectStore.js';
import { e2eDirs, openStartScreen, watchPageHealth } from './app.js';

const COUNT = 20_000;

function writeLargeProject(projectDir: string, imageRoot: string): void {
  mkdirSync(imageRoot, { recursive: true });
  const store = ProjectStore.create(projectDir, { name: 'twenty thousand', imageRoot });
  try {
    store.transaction(() => {
      store.images.insertScanned(
        Array.from({ length: COUNT }, (_, i) => ({
          relPath: `video${String(Math.floor(i / 1000)).padStart(2, '0')}/frame${String(i).padStart(6, '0')}.jpg`,
          hash: i.toString(16).padStart(40, '0'),
          width: 640,
          height: 480,
          orientation: 1,
          problem: null,
        })),
      );
      const nose = store.keypoints.add('nose', '#ff8800');
      const now = new Date().toISOString();
      // Every 4th image labeled.
      for (let id = 1; id <= COUNT; id += 4) {
        store.annotations.put(id, nose, {
          x: 10,
          y: 10,
          visibility: 'visible',
          source: 'human',
          updatedAt: now,
          predicted: null,
        });
      }
    });
  } finally {
    store.close();
  }
}

test('the image list stays virtual with 20,000 images', async ({ page }) => {
  const health = watchPageHealth(page);
  const root = e2eDirs().root;
  const projectDir = join(root, 'large-project');
  writeLargeProject(projectDir, join(root, 'large-images'));

  await openStartScreen(page);
  await page.locator('#open-dir').fill(projectDir);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(page.getByTestId('image-count')).toHaveText('20,000 images');

  const rows = page.getByTestId('image-row');
  const rendered = async () => rows.count();
  expect(await rendered()).toBeLessThan(60);
  await expect(rows.first()).toContainText('frame000000.jpg');

  // Keyboard in the list: End jumps to the last image, which is then shown and scrolled to.
  const list = page.getByRole('listbox', { name: 'Image list' });
  await list.focus();
  await list.press('End');
  await expect(page.locator('[aria-selected="true"]')).toContainText('frame019999.jpg');
  await expect(page.locator('.stage .file')).toHaveText('video19/frame019999.jpg');
  await list.press('ArrowUp');
  await expect(page.locator('[aria-selected="true"]')).toContainText('frame019998.jpg');
  expect(await rendered()).toBeLessThan(60);

  // Scrolling the middle in loads that page from the host.
  await list.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  await expect(rows.filter({ hasText: 'frame010000.jpg' })).toBeVisible();
  expect(await rendered()).toBeLessThan(60);

  await page.getByRole('radio', { name: 'Labeled', exact: true }).click();
  await expect(page.getByTestId('image-count')).toHaveText('5,000 images');
  await expect(rows.first()).toContainText('frame000000.jpg');
  await expect(rows.nth(1)).toContainText('frame000004.jpg');
  await page.getByRole('radio', { name: 'Unlabeled' }).click();
  await expect(page.getByTestId('image-count')).toHaveText('15,000 images');
  await expect(rows.first()).toContainText('frame000001.jpg');
  expect(health).toEqual([]);
});
