// Click-to-commit latency: annotations.set through `dispatch` (payload validation, checks, the
// upsert and its history row, one committed transaction each), as the UI calls it per click.
//   npm run bench:commit [-- --clicks 5000]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { dispatch } from '../src-shared/api.js';
import type { ImageSummary, KeypointSchema } from '../src-shared/domain.js';
import { createServices } from '../src-main/services/index.js';
import { ANYWHERE } from '../src-main/services/pathPolicy.js';

const IMAGES = 50;
const KEYPOINTS = 20;

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function stats(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(3);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  console.log(
    `${label}: n=${samples.length} mean ${mean.toFixed(3)} ms, median ${at(0.5)}, p95 ${at(0.95)}, p99 ${at(0.99)}, max ${at(1)} ms`,
  );
}

async function main(): Promise<void> {
  const clicks = argNumber('clicks', 5000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-commit-'));
  const imageRoot = path.join(work, 'images');
  mkdirSync(imageRoot);
  for (let i = 0; i < IMAGES; i++) {
    await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: i, g: 100, b: 200 } } })
      .jpeg()
      .toFile(path.join(imageRoot, `img${i}.jpg`));
  }
  const services = createServices({ paths: ANYWHERE });
  const call = (method: string, payload: unknown) => dispatch(services.handlers, method, payload);
  try {
    await call('project.create', { projectDir: path.join(work, 'project'), imageRoot });
    for (let k = 0; k < KEYPOINTS; k++) await call('keypoints.add', { name: `point${k}` });
    const schema = (await call('schema.get', {})) as KeypointSchema;
    const images = ((await call('images.list', {})) as { items: ImageSummary[] }).items;
    const db = (await import('better-sqlite3')).default;
    const probe = new db(path.join(work, 'project', 'project.sqlite'), { readonly: true });
    console.log(
      `node ${process.version}, SQLite ${(probe.prepare('select sqlite_version() v').get() as { v: string }).v}, ` +
        `journal_mode=WAL synchronous=NORMAL, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}, ` +
        `project in ${os.tmpdir()}`,
    );
    probe.close();

    const set: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < clicks; i++) {
      const image = images[i % images.length]!;
      const keypoint = schema.keypoints[Math.floor(i / images.length) % KEYPOINTS]!;
      const t = process.hrtime.bigint();
      await call('annotations.set', {
        imageId: image.id,
        keypointId: keypoint.id,
        x: (i * 7) % 640,
        y: (i * 13) % 480,
      });
      set.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const cpu = process.cpuUsage(cpuBefore);
    stats('annotations.set (click-to-commit)', set);
    // Wall-clock tails on a busy machine are mostly waiting for a core; CPU time is the work.
    console.log(
      `annotations.set CPU time (user+system) per click: ${((cpu.user + cpu.system) / 1000 / clicks).toFixed(3)} ms`,
    );

    const undo: number[] = [];
    const redo: number[] = [];
    for (let i = 0; i < 500; i++) {
      let t = process.hrtime.bigint();
      await call('history.undo', {});
      undo.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      await call('history.redo', {});
      redo.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    stats(`history.undo (history of ${clicks} changes)`, undo);
    stats('history.redo', redo);
  } finally {
    services.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
