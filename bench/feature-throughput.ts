/**
 * Feature throughput: hypercolumn extraction (paper 000: conv2_x..conv5_x on a 48x48 grid) from
 * 96x96 images at batch 64, inference mode, in images per second.
 *
 *   npm run bench:features -- [--arch resnet18|resnet50] [--batch 64] [--steps 5] [--warmup 1]
 */
import { parseArgs } from 'node:util';
import type { Tensor4D } from '@tensorflow/tfjs';
import { formatEngineInfo, initEngine, tf } from '../src-main/ml/engine.js';
import { createBackbone } from '../src-main/ml/backbones/index.js';
import type { ResNetArch } from '../src-main/ml/backbones/index.js';
import { extractHypercolumn, hypercolumnChannels, PAPER_HYPERCOLUMN } from '../src-main/ml/hypercolumn.js';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet18' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
  },
});
if (args.arch !== 'resnet18' && args.arch !== 'resnet50')
  throw new Error(`--arch must be resnet18 or resnet50, got ${args.arch}`);
const arch: ResNetArch = args.arch;
const batch = Number(args.batch);
const steps = Number(args.steps);

const info = await initEngine();
console.log(`engine: ${formatEngineInfo(info)}`);
const net = createBackbone({ arch }, { seed: 0 });
const channels = hypercolumnChannels(net.stages, PAPER_HYPERCOLUMN);
console.log(
  `workload: ${arch} hypercolumn ${PAPER_HYPERCOLUMN.stages.join('+')} -> [${batch}, 48, 48, ${channels}] from 96x96, inference`,
);
const images = tf.randomNormal([batch, 96, 96, 3], 0, 1, 'float32', 1) as Tensor4D;

const run = () => {
  const hc = extractHypercolumn(net, images, PAPER_HYPERCOLUMN);
  hc.dataSync(); // include the read-back a consumer pays for
  hc.dispose();
};
for (let i = 0; i < Number(args.warmup); i++) run();
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  wall.push((performance.now() - t0) / 1000);
  cpu.push((c.user + c.system) / 1e6);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `hypercolumn ${arch}: ${(batch / median(wall)).toFixed(1)} img/s (median ${median(wall).toFixed(3)} s per batch of ${batch}, min ${Math.min(...wall).toFixed(3)}; ${median(cpu).toFixed(3)} CPU-s per batch)`,
);
console.log(`tensors alive: ${tf.memory().numTensors}`);
