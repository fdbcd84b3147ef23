// Image switch latency on the Review screen: time from pressing D (next image in review order) to
// the next 4000x3000 photo drawn on the review canvas with its predicted points, once the
// neighbour was decoded ahead (the reviewer spent `pause` ms on the image). Playwright drives
// Debian's chromium (software rendering, as in CI) against `landmark-studio serve`.
//   npm run build && npm run bench:review-switch [-- --switches 24 --keypoints 12 --pause 1500]
// The prediction run is written straight into the project's store (a finished 'predict' run with
// one prediction per image and keypoint, confidences spread over [0.05, 0.95]) rather than trained
// and predicted: the screen reads stored predictions only, so the switch is the same, and this
// takes seconds instead of minutes. The photos are shared with bench:switch (same folder).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectStore } from '../src-main/store/projectStore.js';
import {
  argNumber,
  call,
  benchPhotos,
  HEIGHT,
  instrument,
  launchChromium,
  measure,
  startHost,
  summary,
  type Timing,
  WIDTH,
} from './browserHarness.js';

/** Writes a finished prediction run over every image: points on a ring, varied confidences. */
function writePredictionRun(projectDir: string): { runId: number; predictions: number } {
  const store = ProjectStore.open(projectDir);
  try {
    const images = store.images.list('all', 0, 100_000).items;
    const keypoints = store.keypoints.list();
    return store.transaction(() => {
      const run = store.runs.create({ kind: 'predict', method: 'bench-written', config: { split: 'all' } });
      store.runs.markRunning(run.id, 'bench (written directly, no model)');
      const predictions = images.flatMap((image, i) =>
        keypoints.map((k, j) => {
          const angle = (2 * Math.PI * j) / keypoints.length + i / 10;
          return {
            imageId: image.id,
            keypointId: k.id,
            x: WIDTH / 2 + 900 * Math.cos(angle),
            y: HEIGHT / 2 + 900 * Math.sin(angle),
            confidence: 0.05 + (0.9 * (((i + 1) * 7919 + j * 104_729) % 1000)) / 1000,
          };
        }),
      );
      store.runs.addPredictions(run.id, predictions);
      store.runs.finish(run.id, 'done');
      return { runId: run.id, predictions: predictions.length };
    });
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const switches = argNumber('switches', 24);
  const keypointCount = argNumber('keypoints', 12);
  const pause = argNumber('pause', 1500);
  // 26 by default: the photo set bench:switch generates with its defaults, reused.
  const imageCount = switches + 2;
  const photos = await benchPhotos(imageCount);

  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-review-project-'));
  const host = await startHost(randomBytes(18).toString('base64url'), os.tmpdir());
  const browser = await launchChromium();
  try {
    await call(host, 'project.create', { projectDir, imageRoot: photos });
    let schema = await call(host, 'keypoints.add', { name: 'kp 1' });
    for (let k = 2; k <= keypointCount; k++) schema = await call(host, 'keypoints.add', { name: `kp ${k}` });
    const ids = schema.keypoints.map((k) => k.id);
    for (let k = 0; k < ids.length; k++)
      await call(host, 'skeleton.addEdge', { a: ids[k]!, b: ids[(k + 1) % ids.length]! });
    const { runId, predictions } = writePredictionRun(projectDir);
    console.log(`prediction run ${runId}: ${predictions} predictions written to the store`);

    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(`${host.url}?token=${host.token}`);
    await page.getByRole('button', { name: 'Review', exact: true }).click();
    await page.waitForFunction(
      () =>
        /^\d+$/.test(document.querySelector<HTMLElement>('[data-testid="review-canvas"]')?.dataset.drawnImageId ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    await instrument(page, 'review-canvas');
    console.log(
      `chromium ${browser.version()} (--disable-gpu: software canvas), ${os.cpus().length} CPUs, ` +
        `load average ${os.loadavg()[0]!.toFixed(1)}, viewport 1600x1000, ${keypointCount} keypoints and edges`,
    );

    const paused: Timing[] = [];
    for (let i = 0; i < switches; i++) {
      await page.waitForTimeout(pause);
      paused.push(await measure(page, () => page.keyboard.press('d')));
    }
    console.log(summary(`review next (D), after a ${pause} ms pause`, paused));
    console.log(`load average at the end ${os.loadavg()[0]!.toFixed(1)}`);
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
