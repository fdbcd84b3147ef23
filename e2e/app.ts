// Steps the end-to-end tests share: reaching the start screen, creating a project through the
// UI, defining keypoints, mapping image pixels to the canvas, reading the project database.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, type Page } from '@playwright/test';
import { E2E_TOKEN } from './host.js';

export interface View {
  scale: number;
  x: number;
  y: number;
}

export interface AnnotationRow {
  image_id: number;
  keypoint_id: number;
  rel_path: string;
  name: string;
  x: number;
  y: number;
  visibility: string;
}

export function e2eDirs(): { root: string; images: string } {
  const root = process.env.E2E_ROOT;
  const images = process.env.E2E_IMAGES;
  if (!root || !images)
    throw new Error('E2E_ROOT/E2E_IMAGES are unset: run through playwright.config.ts (globalSetup).');
  return { root, images };
}

/** Opens the app and gets to the start screen (the shared host may still hold another test's project). */
export async function openStartScreen(page: Page): Promise<void> {
  await page.goto(`/?token=${E2E_TOKEN}`);
  const other = page.getByRole('button', { name: 'Other project…' });
  await expect(page.locator('#image-root').or(other)).toBeVisible();
  if (await other.isVisible()) await other.click();
  await expect(page.locator('#image-root')).toBeVisible();
}

/** Creates a project from the e2e image folder; the scan must report the broken file. */
export async function createProject(page: Page, projectDir: string): Promise<void> {
  await page.locator('#image-root').fill(e2eDirs().images);
  await page.locator('#project-dir').fill(projectDir);
  await page.getByRole('button', { name: 'Create project' }).click();
  const problems = page.getByTestId('scan-problems');
  await expect(problems).toContainText('broken.jpg');
  await screenshot(page, 'scan-problems');
  await page.getByRole('button', { name: 'Continue to the project' }).click();
  // A new project has no keypoints: the schema editor comes first.
  await expect(page.getByRole('heading', { name: 'Keypoints' })).toBeVisible();
}

/** From the start screen to a new project `name` (a folder under the e2e root) with `keypoints`; returns its folder. */
export async function newProject(page: Page, name: string, keypoints: string[]): Promise<string> {
  const projectDir = join(e2eDirs().root, name);
  await openStartScreen(page);
  await createProject(page, projectDir);
  await addKeypoints(page, keypoints);
  return projectDir;
}

/** From the schema editor to the labeling screen; returns the id of the first image drawn. */
export async function startLabeling(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Start labeling' }).click();
  return waitForDrawnImage(page);
}

export async function addKeypoints(page: Page, names: string[]): Promise<void> {
  for (const name of names) {
    await page.getByLabel('New keypoint name').fill(name);
    await page.getByRole('button', { name: 'Add keypoint' }).click();
    await expect(page.getByLabel(/^Name of keypoint/).last()).toHaveValue(name);
  }
}

export async function addEdge(page: Page, a: string, b: string): Promise<void> {
  await page.getByLabel('Edge from').selectOption({ label: a });
  await page.getByLabel('Edge to').selectOption({ label: b });
  await page.getByRole('button', { name: 'Add edge' }).click();
  await expect(page.getByTestId('edge-row').filter({ hasText: `${a} — ${b}` })).toBeVisible();
}

export function canvas(page: Page) {
  return page.getByTestId('label-canvas');
}

/** Waits until the canvas has drawn a usable image other than `previousId`; returns its id. */
export async function waitForDrawnImage(page: Page, previousId?: string): Promise<string> {
  const target = canvas(page);
  await expect(target).toHaveAttribute('data-drawn-image-id', /^\d+$/);
  if (previousId !== undefined) await expect(target).not.toHaveAttribute('data-drawn-image-id', previousId);
  return (await target.getAttribute('data-drawn-image-id')) ?? '';
}

export async function currentView(page: Page): Promise<View> {
  const text = await canvas(page).getAttribute('data-view');
  if (!text) throw new Error('The canvas reports no view.');
  return JSON.parse(text) as View;
}

/** Page coordinates of an image pixel under the canvas's current view. */
export async function pagePoint(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const box = await canvas(page).boundingBox();
  if (!box) throw new Error('The canvas is not on screen.');
  const view = await currentView(page);
  return { x: box.x + x * view.scale + view.x, y: box.y + y * view.scale + view.y };
}

export async function clickImagePoint(page: Page, x: number, y: number): Promise<void> {
  const p = await pagePoint(page, x, y);
  await page.mouse.click(p.x, p.y);
}

/** Annotations as stored, read from project.sqlite through a read-only connection. */
export function storedAnnotations(projectDir: string): AnnotationRow[] {
  const db = new Database(join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT a.image_id, a.keypoint_id, i.rel_path, k.name, a.x, a.y, a.visibility
           FROM annotations a JOIN images i ON i.id = a.image_id JOIN keypoints k ON k.id = a.keypoint_id
          ORDER BY i.rel_path, k.ord`,
      )
      .all() as AnnotationRow[];
  } finally {
    db.close();
  }
}

/** Fails the test on any Content-Security-Policy violation or uncaught page error. */
export function watchPageHealth(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.stack ?? error.message}`));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  return problems;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join('test-results', 'screenshots', `${name}.png`) });
}
