// Zoom and pan on the labeling canvas: the wheel zooms keeping the image point under the cursor,
// dragging empty space pans without placing, Space+drag pans even over a point, F fits again.
import { expect, test } from '@playwright/test';
import {
  canvas,
  clickImagePoint,
  currentView,
  newProject,
  pagePoint,
  startLabeling,
  storedAnnotations,
  type View,
  watchPageHealth,
} from './app.js';

test('zoom at the cursor, pan by dragging, fit again', async ({ page }) => {
  const health = watchPageHealth(page);
  const projectDir = await newProject(page, 'canvas-project', ['nose', 'tail']);
  await startLabeling(page);
  const fitted = await currentView(page);
  const box = (await canvas(page).boundingBox())!;
  const imageUnder = (view: View, p: { x: number; y: number }) => ({
    x: (p.x - box.x - view.x) / view.scale,
    y: (p.y - box.y - view.y) / view.scale,
  });
  const viewChanged = async (from: View): Promise<View> => {
    await expect.poll(async () => JSON.stringify(await currentView(page))).not.toBe(JSON.stringify(from));
    return currentView(page);
  };

  await clickImagePoint(page, 300, 200);
  await expect.poll(() => storedAnnotations(projectDir).length).toBe(1);

  const cursor = await pagePoint(page, 320, 240);
  await page.mouse.move(cursor.x, cursor.y);
  await page.mouse.wheel(0, -400);
  const zoomed = await viewChanged(fitted);
  expect(zoomed.scale).toBeGreaterThan(fitted.scale * 1.5);
  const under = imageUnder(zoomed, cursor);
  expect(Math.abs(under.x - 320)).toBeLessThan(0.5);
  expect(Math.abs(under.y - 240)).toBeLessThan(0.5);

  // Drag on empty image space pans by the drag and places nothing.
  const start = await pagePoint(page, 330, 250);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 60, start.y + 30, { steps: 6 });
  await page.mouse.up();
  const panned = await viewChanged(zoomed);
  expect(panned.x - zoomed.x).toBeCloseTo(60, 0);
  expect(panned.y - zoomed.y).toBeCloseTo(30, 0);
  expect(storedAnnotations(projectDir)).toHaveLength(1);

  // With Space held, dragging from the placed point pans instead of moving it.
  const nose = await pagePoint(page, 300, 200);
  await page.mouse.move(nose.x, nose.y);
  await page.keyboard.down('Space');
  await page.mouse.down();
  await page.mouse.move(nose.x + 40, nose.y, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  const spacePanned = await viewChanged(panned);
  expect(spacePanned.x - panned.x).toBeCloseTo(40, 0);
  const [row] = storedAnnotations(projectDir);
  expect(row!.x).toBeCloseTo(300, 0);
  expect(row!.y).toBeCloseTo(200, 0);

  await page.keyboard.press('f');
  await expect.poll(() => currentView(page)).toEqual(fitted);
  await page.keyboard.press('+');
  const keyZoomed = await viewChanged(fitted);
  expect(keyZoomed.scale / fitted.scale).toBeCloseTo(1.25, 5);
  expect(health).toEqual([]);
});
