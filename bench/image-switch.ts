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
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  argNumber,
  call,
  benchPhotos,
  instrument,
  launchChromium,
  measure,
  startHost,
  summary,
  type Timing,
} from './browserHarness.js';

async function main(): Promise<void> {
  const switches = argNumber('switches', 8);
  const coldJumps = argNumber('cold', 4);
  const pause = argNumber('pause', 1500);
  // Two runs of `switches` nexts, then `coldJumps` jumps to every other row below those.
  const imageCount = 2 * switches + 2 + 2 * coldJumps;
  const photos = await benchPhotos(imageCount);

  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-switch-project-'));
  const host = await startHost(randomBytes(18).toString('base64url'), os.tmpdir());
  const browser = await launchChromium();
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
    await instrument(page, 'label-canvas');
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
