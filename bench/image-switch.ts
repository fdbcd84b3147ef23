// Image switch latency on the labeling screen: time from pressing D (next image) to the next
// 4000x3000 photo drawn on the canvas, once thumbnails exist. Playwright drives Debian's chromium
// (software rendering, as in CI) against `landmark-studio serve`: the real host, services and UI.
//   npm run build && npm run bench:switch [-- --switches 8 --cold 4 --pause 1500]
// Scenarios:
//   next, after a pause: D pressed after `pause` ms on an image (labeling time): the neighbour
//                        was decoded ahead, so the switch only draws. Target < 100 ms.
//   next, back to back:  D pressed as soon as the previous image is drawn (holding the key).
//   jump, cold:          a click on a list row never shown before (fetch + decode + draw).
// "full drawn" is the canvas updated with the full image (drawn synchronously); "full frame"
// adds the wait for the next animation frame, when the browser paints it; "first pixels" is
// the first drawing of the new image, its thumbnail when the full image was not decoded yet.
// The photos are generated once into the OS temp folder and reused (delete it to regenerate).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Page } from '@playwright/test';
import sharp from 'sharp';
import type { ApiMethod, ApiRequest, ApiResponse } from '../src-shared/api.js';
import type { WireResult } from '../src-shared/bridge.js';

const WIDTH = 4000;
const HEIGHT = 3000;
const CHROMIUM = '/usr/bin/chromium';

function argNumber(name: string, fallback: number): number {
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

async function generatePhotos(dir: string, count: number): Promise<void> {
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

interface Host {
  url: string;
  token: string;
  process: ChildProcess;
}

async function startHost(token: string): Promise<Host> {
  const child = spawn(
    process.execPath,
    ['bin/landmark-studio.mjs', 'serve', '--empty', '--port', '0', '--token', token],
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

async function call<M extends ApiMethod>(host: Host, method: M, req: ApiRequest<M>): Promise<ApiResponse<M>> {
  const response = await fetch(`${host.url}api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${host.token}` },
    body: JSON.stringify(req),
  });
  const body = (await response.json()) as WireResult<ApiResponse<M>>;
  if (!body.ok) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

type Mark = { full: boolean; drawn: number; frame: number };
type Probe = { inputs: number[]; marks: Mark[] };

/** Records input and canvas-drawn times inside the page, on the page's own clock. */
async function instrument(page: Page): Promise<void> {
  await page.evaluate(() => {
    // No named functions in here: tsx would wrap them in a helper the page does not have.
    const w = window as unknown as { probe: Probe };
    w.probe = { inputs: [], marks: [] };
    window.addEventListener('keydown', (e) => w.probe.inputs.push(e.timeStamp), { capture: true });
    window.addEventListener('pointerdown', (e) => w.probe.inputs.push(e.timeStamp), { capture: true });
    const canvas = document.querySelector<HTMLElement>('[data-testid="label-canvas"]')!;
    new MutationObserver((records) => {
      const drawn = performance.now();
      for (const record of records) {
        const full = record.attributeName === 'data-drawn-image-id';
        if (!canvas.getAttribute(record.attributeName!)) continue; // cleared, not drawn
        requestAnimationFrame(() => w.probe.marks.push({ full, drawn, frame: performance.now() }));
      }
    }).observe(canvas, { attributes: true, attributeFilter: ['data-drawn-image-id', 'data-preview-image-id'] });
  });
}

interface Timing {
  /** Input to the first pixels of the new image (its thumbnail when the full image was not ready). */
  first: number;
  /** Input to the full image drawn, and to the animation frame that paints it. */
  drawn: number;
  frame: number;
}

/** Runs one input and returns the latencies of the image it brings. */
async function measure(page: Page, act: () => Promise<void>): Promise<Timing> {
  const before = await page.evaluate(() => (window as unknown as { probe: Probe }).probe.marks.length);
  await act();
  await page.waitForFunction(
    (n) => (window as unknown as { probe: Probe }).probe.marks.slice(n).some((m) => m.full),
    before,
    { timeout: 30_000 },
  );
  return page.evaluate((n) => {
    const { inputs, marks } = (window as unknown as { probe: Probe }).probe;
    const input = inputs[inputs.length - 1]!;
    const after = marks.slice(n);
    const full = after.find((m) => m.full)!;
    return { first: after[0]!.drawn - input, drawn: full.drawn - input, frame: full.frame - input };
  }, before);
}

function summary(name: string, timings: Timing[]): string {
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
    `  each, full drawn: ${timings.map((t) => t.drawn.toFixed(0)).join(' ')}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const switches = argNumber('switches', 8);
  const coldJumps = argNumber('cold', 4);
  const pause = argNumber('pause', 1500);
  // Two runs of `switches` nexts, then `coldJumps` jumps to every other row below those.
  const imageCount = 2 * switches + 2 + 2 * coldJumps;
  if (!existsSync('out/renderer/index.html')) throw new Error('Build the renderer first: npm run build');

  const photos = path.join(os.tmpdir(), 'landmark-bench-switch-photos');
  const started = Date.now();
  await generatePhotos(photos, imageCount);
  console.log(
    `photos: ${imageCount} x ${WIDTH}x${HEIGHT} JPEG in ${photos} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-switch-project-'));
  const host = await startHost(randomBytes(18).toString('base64url'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    await call(host, 'project.create', { projectDir, imageRoot: photos });
    for (const name of ['nose', 'left eye', 'right eye']) await call(host, 'keypoints.add', { name });
    const { items } = await call(host, 'images.list', { filter: 'all', offset: 0, limit: imageCount });
    // Thumbnails exist before the clock starts, as they do once a project has been browsed.
    await Promise.all(
      items.map((item) => fetch(`${host.url}thumb/${item.id}?token=${host.token}`).then((r) => r.arrayBuffer())),
    );

    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(`${host.url}?token=${host.token}`);
    await page.waitForFunction(
      () =>
        /^\d+$/.test(document.querySelector<HTMLElement>('[data-testid="label-canvas"]')?.dataset.drawnImageId ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    await instrument(page);
    console.log(
      `chromium ${browser.version()} (--disable-gpu: software canvas), ${os.cpus().length} CPUs, ` +
        `load average ${os.loadavg()[0]!.toFixed(1)}, viewport 1600x1000`,
    );

    const paused: Timing[] = [];
    for (let i = 0; i < switches; i++) {
      await page.waitForTimeout(pause);
      paused.push(await measure(page, () => page.keyboard.press('d')));
    }
    const backToBack: Timing[] = [];
    for (let i = 0; i < switches; i++) backToBack.push(await measure(page, () => page.keyboard.press('d')));

    // Rows never shown: from here on, every other row further down.
    const cold: Timing[] = [];
    const rows = page.getByTestId('image-row');
    const firstUnseen = 2 * switches + 2;
    for (let row = firstUnseen; cold.length < coldJumps; row += 2) {
      await page.waitForTimeout(pause);
      cold.push(await measure(page, () => rows.nth(row).click()));
    }

    const decode = await page.evaluate(
      async (url) => {
        const blob = await (await fetch(url)).blob();
        const t0 = performance.now();
        const bitmap = await createImageBitmap(blob);
        const ms = performance.now() - t0;
        bitmap.close();
        return { ms, bytes: blob.size };
      },
      `${host.url}image/${items[items.length - 1]!.id}?token=${host.token}`,
    );
    // Measured last: a decode here would compete with the prefetch being timed.
    console.log(`one photo: ${(decode.bytes / 1e6).toFixed(1)} MB JPEG, createImageBitmap ${decode.ms.toFixed(0)} ms`);

    console.log(summary(`next, after a ${pause} ms pause`, paused));
    console.log(summary('next, back to back', backToBack));
    console.log(summary('jump, cold (fetch + decode + draw)', cold));
  } finally {
    await browser.close();
    host.process.kill('SIGTERM');
    rmSync(projectDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
