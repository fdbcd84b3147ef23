// Keyboard-only labeling: the arrow keys move a crosshair, Enter places the current keypoint,
// X marks it absent, O makes the next placement occluded, W/S change keypoint, Delete removes a
// point, A/D change image, C copies the previous image's points. No mouse once the labeling
// screen shows.
import { expect, test } from '@playwright/test';
import {
  canvas,
  currentView,
  newProject,
  screenshot,
  startLabeling,
  storedAnnotations,
  waitForDrawnImage,
  watchPageHealth,
} from './app.js';

test('label one image with the keyboard only', async ({ page }) => {
  const health = watchPageHealth(page);
  const projectDir = await newProject(page, 'keyboard-project', ['nose', 'left eye', 'right eye']);
  const imageId = await startLabeling(page);

  // The crosshair starts at the centre of the view; steps are screen pixels (Shift: 40, plain: 4).
  const box = (await canvas(page).boundingBox())!;
  const view = await currentView(page);
  const centre = { x: (box.width / 2 - view.x) / view.scale, y: (box.height / 2 - view.y) / view.scale };
  await page.keyboard.press('Enter'); // shows the crosshair
  await page.keyboard.press('Shift+ArrowLeft');
  await page.keyboard.press('Shift+ArrowLeft');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowUp');
  const nose = { x: centre.x - 80 / view.scale, y: centre.y - 12 / view.scale };
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('current-keypoint')).toContainText('left eye');

  await page.keyboard.press('x');
  await expect(page.getByTestId('current-keypoint')).toContainText('right eye');

  await page.keyboard.press('o');
  await expect(page.getByTestId('current-keypoint')).toContainText('next click: occluded');
  for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowRight');
  const rightEye = { x: nose.x + 120 / view.scale, y: nose.y };
  await page.keyboard.press('Enter');

  const item = (name: string) => page.getByTestId('keypoint-item').filter({ hasText: name });
  await expect(item('nose')).toHaveAttribute('data-state', 'visible');
  await expect(item('left eye')).toHaveAttribute('data-state', 'absent');
  await expect(item('right eye')).toHaveAttribute('data-state', 'occluded');

  // W goes back a keypoint, Delete clears it, X marks it absent again.
  await page.keyboard.press('w');
  await expect(page.getByTestId('current-keypoint')).toContainText('left eye');
  await page.keyboard.press('Delete');
  await expect(item('left eye')).toHaveAttribute('data-state', 'missing');
  await page.keyboard.press('x');
  await expect(item('left eye')).toHaveAttribute('data-state', 'absent');

  // Next image: C copies the points of the image viewed before. Then back: what shows comes
  // from the host.
  await page.keyboard.press('d');
  const nextId = await waitForDrawnImage(page, imageId);
  await expect(item('nose')).toHaveAttribute('data-state', 'missing');
  await page.keyboard.press('c');
  await expect(item('nose')).toHaveAttribute('data-state', 'visible');
  await expect(item('left eye')).toHaveAttribute('data-state', 'absent');
  await expect(item('right eye')).toHaveAttribute('data-state', 'occluded');
  await page.keyboard.press('a');
  await expect(canvas(page)).toHaveAttribute('data-drawn-image-id', imageId);
  await expect(item('right eye')).toHaveAttribute('data-state', 'occluded');

  // ? shows the shortcut list over the canvas, Escape closes it.
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Labeling shortcuts' });
  await expect(help).toContainText('Keyboard only');
  await screenshot(page, 'help-overlay');
  await page.keyboard.press('Escape');
  await expect(help).toBeHidden();

  const stored = storedAnnotations(projectDir);
  expect(stored.filter((r) => String(r.image_id) === nextId)).toHaveLength(3);
  const rows = stored.filter((r) => String(r.image_id) === imageId);
  expect(rows.map((r) => [r.name, r.visibility])).toEqual([
    ['nose', 'visible'],
    ['left eye', 'absent'],
    ['right eye', 'occluded'],
  ]);
  const at = (name: string) => rows.find((r) => r.name === name)!;
  expect(Math.abs(at('nose').x - nose.x)).toBeLessThanOrEqual(1);
  expect(Math.abs(at('nose').y - nose.y)).toBeLessThanOrEqual(1);
  expect(Math.abs(at('right eye').x - rightEye.x)).toBeLessThanOrEqual(1);
  expect(Math.abs(at('right eye').y - rightEye.y)).toBeLessThanOrEqual(1);
  expect(health).toEqual([]);
});
