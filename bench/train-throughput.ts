/**
 * Training throughput: ResNet-18 on 96x96 images, forward + backward + SGD-momentum update, in
 * images per second, against the same step in PyTorch on the CPU (bench/pytorch/train_step.py)
 * measured in the same run. The two alternate (tfjs block, torch block, ...) so a machine whose
 * load drifts affects both alike; besides wall time it reports process CPU seconds per step,
 * which other processes' load disturbs much less.
 *
 *   npm run bench:train -- [--batch 32] [--steps 5] [--warmup 2] [--rounds 2] [--threads N]
 *
 * --threads sets TensorFlow's intra-op threads and PyTorch's threads alike (default: the
 * engine's default, all cores).
 *
 * The step: conv5_x -> global average pool -> linear 512x10 -> softmax cross-entropy on random
 * labels; SGD, learning rate 0.03, momentum 0.9 (MoCo's optimiser without weight decay).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Scalar, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { formatEngineInfo, initEngine, tf } from '../src-main/ml/engine.js';
import { createBackbone } from '../src-main/ml/backbones/index.js';

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '96' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string' },
  },
});
const batch = Number(args.batch);
const size = Number(args.size);
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const rounds = Number(args.rounds);
const classes = 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const info = await initEngine(args.threads ? { threads: Number(args.threads) } : {});
console.log(`engine: ${formatEngineInfo(info)}`);
console.log(
  `workload: ResNet-18, ${size}x${size}, batch ${batch}, forward+backward+SGD momentum; ${rounds} rounds of ${steps} steps (+${warmup} warm-up)`,
);

const net = createBackbone({ arch: 'resnet18' }, { seed: 0 });
const fcW = tf.variable(tf.randomNormal([512, classes], 0, 0.01, 'float32', 1));
const fcB = tf.variable(tf.zeros([classes]));
const vars = [...net.trainableVariables('all'), fcW, fcB];
const optimizer = tf.train.momentum(0.03, 0.9);
const images = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2) as Tensor4D;
const labels = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 3) as never, classes) as Tensor2D;

function tfjsStep(): void {
  const loss = optimizer.minimize(
    () => {
      const features = net.apply(images, { training: true, stages: ['conv5_x'] }).conv5_x!;
      const logits = tf.add(tf.matMul(tf.mean(features, [1, 2]) as Tensor2D, fcW), fcB);
      return tf.losses.softmaxCrossEntropy(labels, logits) as Scalar;
    },
    true,
    vars,
  )!;
  loss.dataSync(); // wait for the step to finish
  loss.dispose();
}

function measureTfjs(): { wall: number[]; cpu: number[] } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    tfjsStep();
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / 1000);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

const torchScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pytorch', 'train_step.py');
function measureTorch(): { wall: number[]; cpu: number[]; version: string; threads: number } | { error: string } {
  const res = spawnSync(
    'python3',
    [
      torchScript,
      '--batch',
      String(batch),
      '--size',
      String(size),
      '--steps',
      String(steps),
      '--warmup',
      String(warmup),
      '--threads',
      String(info.threads),
    ],
    {
      encoding: 'utf8',
    },
  );
  if (res.error) return { error: `python3 could not run (${res.error.message})` };
  if (res.status !== 0) {
    const why = /No module named 'torch'/.test(res.stderr)
      ? 'PyTorch is not installed (pip install --retries 0 torch)'
      : res.stderr.trim().split('\n').pop();
    return { error: why ?? `exit code ${res.status}` };
  }
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    torch: string;
    threads: number;
    steps: number[];
    cpu: number[];
  };
  return { wall: out.steps, cpu: out.cpu, version: out.torch, threads: out.threads };
}

for (let i = 0; i < warmup; i++) tfjsStep();
const tfjs = { wall: [] as number[], cpu: [] as number[] };
const torch = { wall: [] as number[], cpu: [] as number[], label: '', error: '' };
for (let r = 0; r < rounds; r++) {
  const t = measureTfjs();
  tfjs.wall.push(...t.wall);
  tfjs.cpu.push(...t.cpu);
  if (torch.error) continue;
  const p = measureTorch();
  if ('error' in p) {
    torch.error = p.error;
    continue;
  }
  torch.wall.push(...p.wall);
  torch.cpu.push(...p.cpu);
  torch.label = `PyTorch ${p.version}, ${p.threads} threads`;
}

const line = (name: string, s: { wall: number[]; cpu: number[] }) =>
  `${name.padEnd(34)} ${(batch / median(s.wall)).toFixed(1).padStart(7)} img/s   ${median(s.wall).toFixed(3)} s/step wall (min ${Math.min(...s.wall).toFixed(3)})   ${median(s.cpu).toFixed(3)} CPU-s/step`;
console.log(line(`tfjs (${info.backend})`, tfjs));
if (torch.error) {
  console.log(`PyTorch reference: NOT RUN - ${torch.error}`);
} else {
  console.log(line(torch.label, torch));
  const wallRatio = median(torch.wall) / median(tfjs.wall);
  const cpuRatio = median(torch.cpu) / median(tfjs.cpu);
  console.log(
    `ratio tfjs/PyTorch throughput: ${wallRatio.toFixed(2)} (wall clock), ${cpuRatio.toFixed(2)} (CPU time per step); target >= 0.8`,
  );
}
console.log(`tensors alive: ${tf.memory().numTensors}`);
