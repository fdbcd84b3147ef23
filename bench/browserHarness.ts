// Shared by the canvas switch benchmarks (image-switch.ts on the labeling screen, review-switch.ts
// on the Review screen): generated 4000x3000 photos, a `landmark-studio serve` host driven over
// HTTP, Debian's chromium, and latencies taken inside the page on its own clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from '@playwright/test';
import sharp from 'sharp';
import type { ApiMethod, ApiRequest, ApiResponse } from '../src-shared/api.js';
import type { WireResult } from '../src-shared/bridge.js';

export const WIDTH = 4000;
export const HEIGHT = 3000;
const CHROMIUM = '/usr/bin/chromium';

export function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number`);
  return value;
}

/** A photo-like 12-megapixel image: gradients, waves and sensor-like noise (JPEG of a few MB). */
function basePixels(): Buffer {
  const px = Buffer.alloc(WIDTH * HEIGHT * 3);
  let seed = 7;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) % 20;
      const i = (y * WIDTH + x) * 3;
      px[i] = (x * 200) / WIDTH + noise;
      px[i + 1] = (y * 200) / HEIGHT + 40 * Math.sin(x / 90) + noise;
      px[i + 2] = 120 + 90 * Math.sin((x + 2 * y) / 160) + noise;
    }
  }
  return px;
}

export async function generatePhotos(dir: string, count: number): Promise<void> {
  const marker = path.join(dir, `.complete-${count}`);
  if (existsSync(marker)) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const base = basePixels();
  for (let i = 0; i < count; i++) {
    await sharp(base, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
      .modulate({ hue: (i * 37) % 360 })
      .jpeg({ quality: 90 })
      .toFile(path.join(dir, `photo_${String(i).padStart(3, '0')}.jpg`));
  }
  writeFileSync(marker, '');
}

export interface Host {
  url: string;
  token: string;
  process: ChildProcess;
}

/** `landmark-studio serve --empty`, allowed to use `allowed` (the photos and the project live there). */
export async function startHost(token: string, allowed: string): Promise<Host> {
  const child = spawn(
    process.execPath,
    ['bin/landmark-studio.mjs', 'serve', '--empty', '--port', '0', '--token', token, '--allow', allowed],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const match = /running at (http:\/\/\S+?)\?token=/.exec(line);
    if (match?.[1]) return { url: match[1], token, process: child };
  }
  throw new Error('`landmark-studio serve` exited before printing its URL.');
}

export async function call<M extends ApiMethod>(host: Host, method: M, req: ApiRequest<M>): Promise<ApiResponse<M>> {
  const response = await fetch(`${host.url}api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${host.token}` },
    body: JSON.stringify(req),
  });
  const body = (await response.json()) as WireResult<ApiResponse<M>>;
  if (!body.ok) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** One drawing on the canvas: `id` is the image id it was marked with. */
type Mark = { full: boolean; id: string; drawn: number; frame: number };
type Probe = { testId: string; inputs: number[]; marks: Mark[] };

/** Records input and canvas-drawn times inside the page, on the page's own clock. */
export async function instrument(page: Page, canvasTestId: string): Promise<void> {
  await page.evaluate((testId) => {
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    const w = window as unknown as { probe: Probe };
    w.probe = { testId, inputs: [], marks: [] };
    window.addEventListener('keydown', (e) => w.probe.inputs.push(e.timeStamp), { capture: true });
    window.addEventListener('pointerdown', (e) => w.probe.inputs.push(e.timeStamp), { capture: true });
    const canvas = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`)!;
    new MutationObserver((records) => {
      const drawn = performance.now();
      for (const record of records) {
        const full = record.attributeName === 'data-drawn-image-id';
        const id = canvas.getAttribute(record.attributeName!);
        if (!id) continue; // cleared, not drawn
        requestAnimationFrame(() => w.probe.marks.push({ full, id, drawn, frame: performance.now() }));
      }
    }).observe(canvas, { attributes: true, attributeFilter: ['data-drawn-image-id', 'data-preview-image-id'] });
  }, canvasTestId);
}

export interface Timing {
  /** Input to the first pixels of the new image (its thumbnail when the full image was not ready). */
  first: number;
  /** Input to the full image drawn, and to the animation frame that paints it. */
  drawn: number;
  frame: number;
  /** Full draws marked with the new image's id by the frame after the first (more than 1: redrawn). */
  draws: number;
  /** Input to the last of those draws (the first may have drawn stale pixels under the new id). */
  lastDrawn: number;
}

/**
 * Runs one input and returns the latencies of the image it brings: the first drawing marked with
 * an id other than the one shown before the input (a redraw of the old image does not count).
 */
export async function measure(page: Page, act: () => Promise<void>): Promise<Timing> {
  const before = await page.evaluate(() => {
    const { testId, marks } = (window as unknown as { probe: Probe }).probe;
    const shown = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`)?.dataset.drawnImageId ?? '';
    return { n: marks.length, shown };
  });
  await act();
  await page.waitForFunction(
    ({ n, shown }) =>
      (window as unknown as { probe: Probe }).probe.marks.slice(n).some((m) => m.full && m.id !== shown),
    before,
    { timeout: 30_000 },
  );
  // One more frame, so that a redraw in the same task as the first draw is counted.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  return page.evaluate(({ n, shown }) => {
    const { inputs, marks } = (window as unknown as { probe: Probe }).probe;
    const input = inputs[inputs.length - 1]!;
    const after = marks.slice(n).filter((m) => m.id !== shown);
    const full = after.find((m) => m.full)!;
    return {
      first: after[0]!.drawn - input,
      drawn: full.drawn - input,
      frame: full.frame - input,
      draws: after.filter((m) => m.full && m.id === full.id).length,
      lastDrawn: after.filter((m) => m.full && m.id === full.id).at(-1)!.drawn - input,
    };
  }, before);
}

export function summary(name: string, timings: Timing[]): string {
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return `median ${at(0.5).toFixed(1)}  p90 ${at(0.9).toFixed(1)}  max ${sorted[sorted.length - 1]!.toFixed(1)}`;
  };
  return [
    `${name} (n=${timings.length})`,
    `  input -> first pixels: ${stats(timings.map((t) => t.first))} ms`,
    `  input -> full drawn:   ${stats(timings.map((t) => t.drawn))} ms`,
    `  input -> full frame:   ${stats(timings.map((t) => t.frame))} ms`,
    `  input -> last draw of the new image: ${stats(timings.map((t) => t.lastDrawn))} ms`,
    `  each, full drawn: ${timings.map((t) => t.drawn.toFixed(0)).join(' ')}`,
    `  full draws of the new image per switch: ${timings.map((t) => t.draws).join(' ')}`,
  ].join('\n');
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

/**
 * The 4000x3000 photo set the switch benches share (generated once into the OS temp folder, then
 * reused), after checking that the renderer they drive is built.
 */
export async function benchPhotos(count: number): Promise<string> {
  if (!existsSync('out/renderer/index.html')) throw new Error('Build the renderer first: npm run build');
  const photos = path.join(os.tmpdir(), 'landmark-bench-switch-photos');
  const started = Date.now();
  await generatePhotos(photos, count);
  console.log(
    `photos: ${count} x ${WIDTH}x${HEIGHT} JPEG in ${photos} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return photos;
}
