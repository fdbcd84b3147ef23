// Scan throughput: project.create over a folder of generated 640x480 JPEGs (default 10,000),
// then images.list timings on that project and on a 20,000-item project with labels (rows
// inserted directly: listing reads only the database).
//   npm run bench:scan [-- --count 10000]
// The images are generated once into the OS temp folder and reused (delete it to regenerate).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { dispatch } from '../src-shared/api.js';
import type { ProjectInfo } from '../src-shared/domain.js';
import { createServices } from '../src-main/services/index.js';
import { ANYWHERE } from '../src-main/services/pathPolicy.js';
import { ProjectStore } from '../src-main/store/projectStore.js';

const WIDTH = 640;
const HEIGHT = 480;

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A smooth image with mild noise, so the JPEGs have a photo-like size (tens of kB). */
function baseImage(): Buffer {
  const px = Buffer.alloc(WIDTH * HEIGHT * 3);
  let seed = 1;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) % 24;
      const i = (y * WIDTH + x) * 3;
      px[i] = (x * 255) / WIDTH + noise;
      px[i + 1] = (y * 255) / HEIGHT + noise;
      px[i + 2] = 128 + 100 * Math.sin((x + y) / 40) + noise;
    }
  }
  return px;
}

async function generate(dir: string, count: number): Promise<void> {
  const marker = path.join(dir, '.complete');
  if (existsSync(marker)) return;
  rmSync(dir, { recursive: true, force: true });
  const base = baseImage();
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const px = Buffer.from(base);
      px.writeUInt32LE(i, 0); // a unique first pixel: every file has its own hash
      const sub = path.join(dir, `batch${String(Math.floor(i / 1000)).padStart(2, '0')}`);
      mkdirSync(sub, { recursive: true });
      await sharp(px, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
        .jpeg({ quality: 85 })
        .toFile(path.join(sub, `frame${String(i).padStart(6, '0')}.jpg`));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  writeFileSync(marker, '');
  console.log(`generated ${count} images in ${((Date.now() - started) / 1000).toFixed(1)} s into ${dir}`);
}

function ms(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e6;
}

async function timeListing(services: ReturnType<typeof createServices>, count: number): Promise<void> {
  for (const filter of ['all', 'labeled', 'unlabeled'] as const) {
    for (const offset of [0, Math.floor(count / 2)]) {
      const t = process.hrtime.bigint();
      await dispatch(services.handlers, 'images.list', { filter, offset, limit: 200 });
      console.log(`  images.list filter=${filter} offset=${offset} limit=200: ${ms(t).toFixed(2)} ms`);
    }
  }
  const t = process.hrtime.bigint();
  await dispatch(services.handlers, 'images.list', { filter: 'all', offset: 0, limit: count });
  console.log(`  images.list all ${count} at once: ${ms(t).toFixed(1)} ms`);
}

/** A project of `count` items, every 4th labeled with 10 points, written straight into the store. */
async function listingAtScale(count: number): Promise<void> {
  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-list-'));
  const store = ProjectStore.create(projectDir, { name: 'list', imageRoot: os.tmpdir() });
  store.transaction(() => {
    store.images.insertScanned(
      Array.from({ length: count }, (_, i) => ({
        relPath: `video${Math.floor(i / 1000)}/frame${String(i).padStart(6, '0')}.jpg`,
        hash: i.toString(16).padStart(40, '0'),
        width: WIDTH,
        height: HEIGHT,
        orientation: 1,
        problem: null,
      })),
    );
    const keypoints = Array.from({ length: 10 }, (_, k) => store.keypoints.add(`point${k}`, '#ff0000'));
    const now = new Date().toISOString();
    for (let id = 1; id <= count; id += 4) {
      for (const k of keypoints)
        store.annotations.put(id, k, {
          x: 10,
          y: 10,
          visibility: 'visible',
          source: 'human',
          updatedAt: now,
          predicted: null,
        });
    }
  });
  store.close();
  const services = createServices({ projectDir });
  try {
    console.log(
      `images.list on ${count} items (${Math.ceil(count / 4)} labeled, ${Math.ceil(count / 4) * 10} points):`,
    );
    await timeListing(services, count);
  } finally {
    services.close();
    rmSync(projectDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const count = argNumber('count', 10_000);
  const imageRoot = path.join(os.tmpdir(), `landmark-bench-scan-${count}`);
  await generate(imageRoot, count);
  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-project-'));
  const services = createServices({ paths: ANYWHERE });
  try {
    console.log(
      `node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ${os.cpus().length} CPUs, ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
    const t0 = process.hrtime.bigint();
    const info = (await dispatch(services.handlers, 'project.create', { projectDir, imageRoot })) as ProjectInfo;
    const scanMs = ms(t0);
    console.log(
      `scan: ${info.counts.images} images (${info.counts.problems} problems) in ${(scanMs / 1000).toFixed(2)} s = ` +
        `${Math.round(info.counts.images / (scanMs / 1000))} images/s`,
    );
    console.log(`images.list on the scanned project:`);
    await timeListing(services, count);
  } finally {
    services.close();
    rmSync(projectDir, { recursive: true, force: true });
  }
  await listingAtScale(20_000);
}

await main();
