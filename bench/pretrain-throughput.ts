// MoCo pretraining throughput: ResNet-18, 96x96, batch 32, data pipeline included.
//   npm run bench:pretrain [-- --steps 10 --warmup 2 --batch 32 --size 96 --images 256 --no-torch]
//   npm run bench:pretrain -- --steps 1000 --no-torch     # the no-growth check (memory, tensors)
//   LANDMARK_STUDIO_THREADS=1 npm run bench:pretrain -- --torch-threads 1   # single-thread work
// Each step: decode PNGs of the procedural demo dataset (BatchLoader, no cache, prefetching) ->
// two MoCo views (random resized crop, TPS, colour jitter, grayscale, blur) -> one MoCo step
// (EMA of the key encoder, shuffled split-BN keys, query forward/backward, SGD, enqueue).
// Prints the backend, images/s (wall and per CPU-second), the share of a step spent on the views,
// peak resident memory, the tensor count over the run, and the same MoCo step in PyTorch CPU
// (bench/pytorch/moco_step.py, model step only: fixed random views) measured in the same run,
// as a ratio. On the shared development machine wall time is mostly waiting for a core: the CPU
// figures are the steadier comparison.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../src-shared/random.js';
import { writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { formatEngineInfo, initEngine, tf } from '../src-main/ml/engine.js';
import { BatchLoader } from '../src-main/ml/image/batchLoader.js';
import { createMocoState, disposeMocoState, mocoStep } from '../src-main/ml/pretrain/moco.js';
import { resolveMocoConfig } from '../src-main/ml/pretrain/mocoConfig.js';
import { makeMocoViews, VIEW_SOURCE_SCALE } from '../src-main/ml/pretrain/mocoViews.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const steps = arg('steps', 10);
const warmup = arg('warmup', 2);
const batchSize = arg('batch', 32);
const size = arg('size', 96);
const imageCount = arg('images', 256);
const runTorch = !process.argv.includes('--no-torch');
// 0 = torch's default (all cores). Under heavy load, OpenMP threads spin while waiting for a core
// and inflate PyTorch's wall and CPU time: `--torch-threads 1` with LANDMARK_STUDIO_THREADS=1
// compares single-thread work instead.
const torchThreads = process.argv.includes('--torch-threads') ? arg('torch-threads', 1) : 0;

const engine = await initEngine();
console.log(`engine: ${formatEngineInfo(engine)}`);
console.log(
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (${os.availableParallelism()} CPUs)`,
);

// Demo crops (112 px PNGs), made once and reused.
const dataDir = path.join(os.tmpdir(), `landmark-bench-pretrain-${imageCount}`);
if (!fs.existsSync(path.join(dataDir, 'labels.json')))
  await writeDemoDataset(dataDir, { regime: 'crop', count: imageCount, seed: 1 });
const files = fs.readdirSync(path.join(dataDir, 'images')).map((f) => ({ path: path.join(dataDir, 'images', f) }));
const loader = new BatchLoader(files, {
  // As the product's pretraining job reads them (jobs/kinds/pretrain.ts).
  size: VIEW_SOURCE_SCALE * size,
  mode: 'stretch',
  batchSize,
  shuffle: true,
  seed: 1,
  dropLast: true,
  prefetch: 2,
  cacheDir: null,
});

const { config, messages } = resolveMocoConfig(
  { backbone: { arch: 'resnet18' }, inputSize: size, batchSize },
  files.length,
);
for (const m of messages) console.log(`config: ${m}`);
const total = warmup + steps;
const state = createMocoState({ config, imageCount: files.length, seed: 1, totalSteps: total });

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const wall: number[] = [];
const cpu: number[] = [];
const tensors: number[] = [];
const rss: number[] = [];
let lastLoss = NaN;
let epoch = 0;
let done = 0;
while (done < total) {
  let t0 = performance.now();
  let c0 = cpuSeconds();
  for await (const batch of loader.epoch(epoch)) {
    const result = await mocoStep(state, batch.images);
    batch.images.dispose();
    lastLoss = result.loss;
    if (done >= warmup) {
      wall.push((performance.now() - t0) / 1000);
      cpu.push(cpuSeconds() - c0);
      tensors.push(tf.memory().numTensors);
      rss.push(process.memoryUsage().rss);
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    done++;
    if (done % 25 === 0 || done === total)
      console.log(
        `step ${done}/${total} loss ${result.loss.toFixed(3)} (chance ${result.chanceLoss.toFixed(3)}) rss ${mib(process.memoryUsage().rss)} tensors ${tf.memory().numTensors}`,
      );
    if (done >= total) break;
    t0 = performance.now();
    c0 = cpuSeconds();
  }
  epoch++;
}
clearInterval(sampler);

// The views alone, on a batch of the same images, to say how much of a step they take.
const sample = (await loader.epoch(0).next()).value!;
const viewTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  tf.dispose(makeMocoViews(sample.images, createRng(i), config));
  viewTimes.push((performance.now() - t) / 1000);
}
sample.images.dispose();
disposeMocoState(state);

const oursWall = batchSize / median(wall);
const oursCpu = batchSize / median(cpu);
console.log(
  `\nMoCo v2, ResNet-18, ${size}x${size}, batch ${batchSize}, queue ${config.queueSize}, ${steps} timed steps after ${warmup} warm-up (last loss ${lastLoss.toFixed(3)})`,
);
console.log(
  `ours (decode + views + step): ${median(wall).toFixed(2)} s/step median wall -> ${oursWall.toFixed(1)} images/s; ${median(cpu).toFixed(2)} CPU-s/step -> ${oursCpu.toFixed(1)} images per CPU-s`,
);
console.log(`views (crop, TPS, jitter, blur; two per image): ${median(viewTimes).toFixed(2)} s/batch wall`);
console.log(
  `peak resident memory: ${mib(peakRss)}; rss first/last timed step: ${mib(rss[0]!)} / ${mib(rss[rss.length - 1]!)}`,
);
const grew = tensors[tensors.length - 1]! - tensors[0]!;
console.log(
  `tensors: ${tensors[0]} at the first timed step, ${tensors[tensors.length - 1]} at the last, max ${Math.max(...tensors)} (${grew === 0 ? 'flat' : `grew by ${grew}`})`,
);

if (runTorch) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pytorch', 'moco_step.py');
  const torchSteps = Math.min(steps, 5);
  const run = spawnSync(
    'python3',
    [
      script,
      '--batch',
      String(batchSize),
      '--size',
      String(size),
      '--queue',
      String(config.queueSize),
      '--splits',
      String(config.bnSplits),
      '--steps',
      String(torchSteps),
      '--warmup',
      String(Math.min(warmup, 2)),
      '--threads',
      String(torchThreads),
    ],
    { encoding: 'utf8' },
  );
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0 || !line.startsWith('{')) {
    console.log(
      `PyTorch reference failed (is torch installed? pip install --retries 0 torch): ${run.stderr.trim().split('\n').pop()}`,
    );
  } else {
    const ref = JSON.parse(line) as { torch: string; threads: number; steps: number[]; cpu: number[] };
    const refWall = batchSize / median(ref.steps);
    const refCpu = batchSize / median(ref.cpu);
    console.log(
      `PyTorch ${ref.torch} CPU, ${ref.threads} threads (model step only): ${median(ref.steps).toFixed(2)} s/step wall -> ${refWall.toFixed(1)} images/s; ${refCpu.toFixed(1)} images per CPU-s`,
    );
    console.log(
      `ratio ours / PyTorch: ${(oursWall / refWall).toFixed(2)} (wall), ${(oursCpu / refCpu).toFixed(2)} (per CPU-second)`,
    );
  }
}
console.log(
  `load average at the end: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
