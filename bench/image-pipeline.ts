import type { Tensor4D } from '@tensorflow/tfjs';
// Image pipeline, augmentation and demo-generator speed.
//   npm run bench:pipeline [-- --frames 200 --crops 400 --batch 16 --step-ms 150]
// Prints, with the backend and the load average:
//   demo generation: crops (112 px) and frames (640x480) per second, drawing + PNG encoding;
//   preprocessing: frames decoded + letterboxed to 320 per second, cold and from the cache;
//   loader: a training-like loop (a synchronous step of --step-ms per batch) with and without
//           prefetch, and how long the loop waited for batches;
//   augmentation: affine, TPS and photometric batches (96 and 256 px) per second.
// CPU time (user + system of this process) is printed next to wall time: on the shared machine
// wall time is mostly waiting for a core.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRng } from '../src-shared/random.js';
import { DEFAULT_AFFINE_AUGMENT, randomAffine } from '../src-main/ml/augment/affine.js';
import { photometricJitter } from '../src-main/ml/augment/photometric.js';
import { DEFAULT_TPS, randomTps } from '../src-main/ml/augment/tps.js';
import { writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { formatEngineInfo, initEngine, tf } from '../src-main/ml/engine.js';
import { BatchLoader } from '../src-main/ml/image/batchLoader.js';
import { preprocessImage } from '../src-main/ml/image/preprocess.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timed<T>(label: string, count: number, unit: string, f: () => Promise<T> | T): Promise<T> {
  const w0 = performance.now();
  const c0 = cpuMs();
  const result = await f();
  const wall = performance.now() - w0;
  const cpu = cpuMs() - c0;
  console.log(
    `${label}: ${((count * 1000) / wall).toFixed(1)} ${unit}/s wall (${(wall / count).toFixed(1)} ms each), ` +
      `${(cpu / count).toFixed(1)} ms CPU each`,
  );
  return result;
}

async function main(): Promise<void> {
  const frames = arg('frames', 200);
  const crops = arg('crops', 400);
  const batch = arg('batch', 16);
  const engine = await initEngine();
  console.log(formatEngineInfo(engine));
  console.log(
    `cpus ${os.cpus().length}, load average ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`,
  );
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'landmark-bench-pipeline-'));
  try {
    await timed(`demo crops (112 px), ${crops}`, crops, 'images', () =>
      writeDemoDataset(path.join(work, 'crops'), { regime: 'crop', count: crops, seed: 1 }),
    );
    await timed(`demo frames (640x480), ${frames}`, frames, 'images', () =>
      writeDemoDataset(path.join(work, 'frames'), { regime: 'frame', count: frames, seed: 1 }),
    );

    const files = (await fs.readdir(path.join(work, 'frames', 'images'))).map((f) =>
      path.join(work, 'frames', 'images', f),
    );
    const cacheDir = path.join(work, 'cache');
    const preprocessAll = () =>
      Promise.all(files.map((p) => preprocessImage({ path: p }, { size: 320, mode: 'letterbox', cacheDir })));
    await timed(
      'preprocess frames to 320 letterbox, cold (decode + resize + cache write)',
      files.length,
      'images',
      preprocessAll,
    );
    await timed(
      'preprocess frames to 320 letterbox, cached (hash + cache read)',
      files.length,
      'images',
      preprocessAll,
    );

    // A stand-in training step: blocks the main thread like a synchronous tfjs-node step does.
    const stepMs = arg('step-ms', 150);
    const step = (x: Tensor4D): void => {
      x.dataSync();
      const end = performance.now() + stepMs;
      while (performance.now() < end);
    };
    const items = files.map((p) => ({ path: p }));
    for (const prefetch of [0, 2]) {
      const loader = new BatchLoader(items, {
        size: 128,
        mode: 'letterbox',
        batchSize: batch,
        prefetch,
        shuffle: true,
        seed: 1,
      });
      let waited = 0;
      await timed(
        `loader 128 px cold, batch ${batch}, prefetch ${prefetch}, ${stepMs} ms step per batch`,
        files.length,
        'images',
        async () => {
          const iter = loader.epoch(0);
          for (;;) {
            const t = performance.now();
            const next = await iter.next();
            waited += performance.now() - t;
            if (next.done) break;
            step(next.value.images);
            next.value.images.dispose();
          }
        },
      );
      console.log(`  time waiting for batches: ${waited.toFixed(0)} ms`);
    }

    const rng = createRng(1);
    for (const size of [96, 256]) {
      const images = tf.randomUniform([batch, size, size, 3]) as Tensor4D;
      const points = Array.from({ length: batch }, () =>
        Array.from({ length: 10 }, () => [size / 2, size / 3] as [number, number]),
      );
      const reps = size === 96 ? 20 : 5;
      const perm = Array.from({ length: 10 }, (_, i) => i);
      await timed(`affine ${batch}x${size}x${size}`, reps, 'batches', () => {
        for (let i = 0; i < reps; i++) {
          const out = randomAffine(images, points, rng, DEFAULT_AFFINE_AUGMENT, perm);
          out.images.dataSync();
          out.images.dispose();
        }
      });
      await timed(`TPS ${batch}x${size}x${size}`, reps, 'batches', () => {
        for (let i = 0; i < reps; i++) {
          const out = randomTps(images, points, rng, DEFAULT_TPS);
          out.images.dataSync();
          out.images.dispose();
        }
      });
      await timed(`photometric ${batch}x${size}x${size}`, reps, 'batches', () => {
        for (let i = 0; i < reps; i++) {
          const out = photometricJitter(images, rng);
          out.dataSync();
          out.dispose();
        }
      });
      images.dispose();
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

await main();
