// Command line for the demo dataset generator (`npm run gen:demo`):
//   tsx src-main/ml/demo/genDemo.ts [dir] [--regime crop|frame|rig] [--count N] [--seed S] [--size PX]
// Without arguments it regenerates the committed set in resources/demo (40 crops of 100 px,
// seed 1), byte for byte. An existing output folder is replaced only if it holds a dataset this
// generator wrote (see replaceDemoDataset).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_REGIMES, type DemoRegime } from './generate.js';
import { replaceDemoDataset } from './writeDataset.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    regime: { type: 'string', default: 'crop' },
    count: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    size: { type: 'string', default: '100' },
  },
});

const dir = path.resolve(positionals[0] ?? 'resources/demo');
const regime = values.regime as DemoRegime;
if (!DEMO_REGIMES.includes(regime))
  throw new Error(`--regime must be ${DEMO_REGIMES.join(' or ')}, got "${values.regime}"`);
const [count, seed, size] = [values.count, values.seed, values.size].map(Number) as [number, number, number];

const started = performance.now();
const labels = await replaceDemoDataset(dir, { regime, count, seed, size });
const seconds = (performance.now() - started) / 1000;
const occluded = labels.items.reduce((n, item) => n + item.visibility.filter((v) => v === 'occluded').length, 0);
console.log(
  `wrote ${labels.items.length} ${regime} images (seed ${seed}) to ${dir} in ${seconds.toFixed(1)} s; ${occluded} occluded landmarks`,
);
