// Mouse labeling end to end: project from a folder, schema, three images labeled by clicking, a
// point dragged, undo/redo across an image switch, a reload, and every label checked in SQLite.
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import {
  addEdge,
  canvas,
  clickImagePoint,
  newProject,
  pagePoint,
  screenshot,
  storedAnnotations,
  waitForDrawnImage,
  watchPageHealth,
} from './app.js';

const KEYPOINTS = ['nose', 'left eye', 'right eye'] as const;
type Point = { x: number; y: number };

/** Where the generated frame i has its features (e2e/global-setup.ts draws them there). */
function featurePoints(i: number): Record<(typeof KEYPOINTS)[number], Point> {
  return {
    nose: { x: 220 + i * 15, y: 232 },
    'left eye': { x: 195 + i * 15, y: 195 },
    'right eye': { x: 245 + i * 15, y: 195 },
  };
}

test('label three images with the mouse; drag, undo and redo persist across a reload', async ({ page }) => {
  const health = watchPageHealth(page);
  const projectDir = await newProject(page, 'mouse-project', [...KEYPOINTS]);
  await addEdge(page, 'left eye', 'right eye');
  await screenshot(page, 'schema-editor');
  await page.getByRole('button', { name: 'Start labeling' }).click();

  // The unusable file sorts first and is skipped: labeling starts on frame_000.
  const expected = new Map<string, Point>();
  const imageIds: string[] = [];
  let drawn = await waitForDrawnImage(page);
  for (let i = 0; i < 3; i++) {
    if (i > 0) {
      await page.keyboard.press('d');
      drawn = await waitForDrawnImage(page, drawn);
    }
    imageIds.push(drawn);
    const file = `frame_00${i}.jpg`;
    await expect(page.getByText(file, { exact: true }).first()).toBeVisible();
    for (const name of KEYPOINTS) {
      // A click places the current keypoint and advances: the header names the next one.
      await expect(page.getByTestId('current-keypoint')).toContainText(name);
      const p = featurePoints(i)[name];
      await clickImagePoint(page, p.x, p.y);
      expected.set(`${file}/${name}`, p);
    }
    await expect(page.getByTestId('image-progress')).toHaveText('3/3 keypoints');
  }

  // Drag the nose of frame_002 to a new place; it is saved when let go.
  const nose = featurePoints(2).nose;
  const moved = { x: nose.x + 30, y: nose.y + 40 };
  const from = await pagePoint(page, nose.x, nose.y);
  const to = await pagePoint(page, moved.x, moved.y);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
  /** Distance (image pixels) of the stored nose of frame_002 from a point; Infinity when not stored. */
  const noseFrom = (p: Point): number => {
    const row = storedAnnotations(projectDir).find((r) => r.rel_path === 'frame_002.jpg' && r.name === 'nose');
    return row ? Math.hypot(row.x - p.x, row.y - p.y) : Infinity;
  };
  await expect.poll(() => noseFrom(moved)).toBeLessThanOrEqual(1);

  // Undo is global: from another image it goes back to frame_002 and reverts the drag.
  await page.keyboard.press('a');
  drawn = await waitForDrawnImage(page, imageIds[2]);
  expect(drawn).toBe(imageIds[1]);
  await page.keyboard.press('Control+z');
  await expect(canvas(page)).toHaveAttribute('data-drawn-image-id', imageIds[2]!);
  await expect.poll(() => noseFrom(nose)).toBeLessThanOrEqual(1);
  await page.keyboard.press('Control+Shift+z');
  await expect.poll(() => noseFrom(moved)).toBeLessThanOrEqual(1);
  await page.keyboard.press('Control+z');
  await expect.poll(() => noseFrom(nose)).toBeLessThanOrEqual(1);
  await page.keyboard.press('Control+y');
  await expect.poll(() => noseFrom(moved)).toBeLessThanOrEqual(1);
  expected.set('frame_002.jpg/nose', moved);

  // A reload keeps the session (token in sessionStorage) and shows what the database holds.
  await page.reload();
  await waitForDrawnImage(page);
  await expect(page.getByTestId('project-progress')).toContainText('3 /');
  await expect(page.getByTestId('image-row').filter({ hasText: '3/3' })).toHaveCount(3);
  await page.getByTestId('image-row').filter({ hasText: 'frame_002.jpg' }).click();
  await expect(canvas(page)).toHaveAttribute('data-drawn-image-id', imageIds[2]!);
  await expect(page.getByTestId('keypoint-item').filter({ hasText: 'nose' })).toHaveAttribute('data-state', 'visible');
  await screenshot(page, 'labeling');
  await page.locator('aside.images').screenshot({ path: join('test-results', 'screenshots', 'image-list.png') });

  const rows = storedAnnotations(projectDir);
  expect(rows).toHaveLength(9);
  for (const row of rows) {
    const want = expected.get(`${row.rel_path}/${row.name}`);
    expect(want, `${row.rel_path}/${row.name} was not labeled by the test`).toBeDefined();
    expect(Math.abs(row.x - want!.x), `${row.rel_path}/${row.name} x`).toBeLessThanOrEqual(1);
    expect(Math.abs(row.y - want!.y), `${row.rel_path}/${row.name} y`).toBeLessThanOrEqual(1);
    expect(row.visibility).toBe('visible');
  }
  expect(health).toEqual([]);
});
