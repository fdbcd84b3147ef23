// The keypoint schema editor against the real services: rename, colour, flip partners (a name-based
// proposal rejected, then set by hand), reorder (buttons and drag), skeleton, normalisation pair,
// and deleting a labeled keypoint only after
// the confirmation that names its label count.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from '@playwright/test';
import {
  addEdge,
  clickImagePoint,
  newProject,
  screenshot,
  storedAnnotations,
  waitForDrawnImage,
  watchPageHealth,
} from './app.js';

interface KeypointRow {
  name: string;
  color: string;
  ord: number;
  partner: string | null;
}

function storedKeypoints(projectDir: string): KeypointRow[] {
  const db = new Database(join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT k.name, k.color, k.ord, p.name AS partner
           FROM keypoints k LEFT JOIN keypoints p ON p.id = k.flip_partner_id ORDER BY k.ord`,
      )
      .all() as KeypointRow[];
  } finally {
    db.close();
  }
}

test('edit the keypoint schema; deleting a labeled keypoint asks first', async ({ page }) => {
  const health = watchPageHealth(page);
  const projectDir = await newProject(page, 'schema-project', ['left ear', 'right ear', 'tail']);
  const names = page.getByLabel(/^Name of keypoint/);
  const nameValues = () => names.evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));

  const tail = page.getByLabel('Name of keypoint 3');
  await tail.fill('tail base');
  await tail.press('Enter');
  await page.getByLabel('Colour of left ear').fill('#00ff00');
  // The names propose the ears as partners; rejecting leaves them unpaired and says training will not flip.
  await expect(page.getByTestId('flip-proposal')).toHaveText(/left ear ↔ right ear/);
  await page.getByRole('button', { name: 'Reject partners left ear and right ear' }).click();
  await expect(page.getByTestId('flip-proposal')).toHaveCount(0);
  await expect(page.getByTestId('flip-unpaired')).toContainText('its partner by name, "right ear", was rejected');
  await screenshot(page, 'flip-partner-rejected');
  // Setting them by hand overrides the rejection.
  await page.getByLabel('Flip partner of left ear').selectOption({ label: 'right ear' });
  await expect(page.getByTestId('flip-unpaired')).toHaveCount(0);
  // Partners are symmetric: the other row follows.
  await expect(page.getByLabel('Flip partner of right ear').locator('option:checked')).toHaveText('left ear');

  await page.getByRole('button', { name: 'Move tail base up' }).click();
  await expect.poll(nameValues).toEqual(['left ear', 'tail base', 'right ear']);
  await page
    .getByTestId('keypoint-row')
    .filter({ has: page.getByLabel('Name of keypoint 3') })
    .dragTo(page.getByTestId('keypoint-row').first());
  await expect.poll(nameValues).toEqual(['right ear', 'left ear', 'tail base']);

  await addEdge(page, 'left ear', 'tail base');
  await page.getByLabel('Normalisation keypoint 1').selectOption({ label: 'left ear' });
  await page.getByLabel('Normalisation keypoint 2').selectOption({ label: 'right ear' });
  await page.getByRole('button', { name: 'Set', exact: true }).click();
  await expect(page.getByTestId('norm-pair')).toContainText('left ear ↔ right ear');

  expect(storedKeypoints(projectDir)).toEqual([
    { name: 'right ear', color: expect.stringMatching(/^#[0-9a-f]{6}$/i), ord: 0, partner: 'left ear' },
    { name: 'left ear', color: '#00ff00', ord: 1, partner: 'right ear' },
    { name: 'tail base', color: expect.stringMatching(/^#[0-9a-f]{6}$/i), ord: 2, partner: null },
  ]);

  // Label "tail base" on one image, then try to delete it.
  await page.getByRole('button', { name: 'Label', exact: true }).click();
  await waitForDrawnImage(page);
  await page.getByTestId('keypoint-item').filter({ hasText: 'tail base' }).click();
  await clickImagePoint(page, 300, 300);
  await expect(page.getByTestId('keypoint-item').filter({ hasText: 'tail base' })).toHaveAttribute(
    'data-state',
    'visible',
  );
  await page.getByRole('button', { name: 'Keypoints', exact: true }).click();

  await page.getByRole('button', { name: 'Delete tail base' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText('"tail base" has 1 label on 1 image');
  await screenshot(page, 'confirm-dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect.poll(nameValues).toEqual(['right ear', 'left ear', 'tail base']);
  expect(storedAnnotations(projectDir)).toHaveLength(1);

  await page.getByRole('button', { name: 'Delete tail base' }).click();
  await dialog.getByRole('button', { name: 'Delete keypoint and its labels' }).click();
  await expect.poll(nameValues).toEqual(['right ear', 'left ear']);
  await expect(page.getByTestId('edge-row')).toHaveCount(0);
  expect(storedAnnotations(projectDir)).toHaveLength(0);
  expect(storedKeypoints(projectDir).map((k) => k.name)).toEqual(['right ear', 'left ear']);
  expect(health).toEqual([]);
});
