// Does the heatmap head's confidence mean something? Trains it briefly through the CLI (the real
// services: init, import, split, train, predict) on generated demo frames and on the DeepLabCut
// reaching-mouse set, predicts the held-out labeled images, and prints, per dataset:
//   - the share of the large errors (the worst `fraction` of points by pixel error) that are
//     among the `fraction` least confident points (chance: `fraction`);
//   - a reliability table: confidence bins -> points, mean pixel error, PCK.
// Writes the reliability plot (PCK against confidence) to bench/plots/confidence-reliability.svg.
//   npm run bench:confidence [-- --minutes 2 --frames 40 --fraction 0.2]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProjectStore } from '../src-main/store/projectStore.js';
import { importableLabelsJson, writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { lowConfidenceShareOfLargeErrors } from '../src-shared/metrics.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    frames: { type: 'string', default: '40' },
    fraction: { type: 'string', default: '0.2' },
  },
});
const minutes = Number(args.minutes);
const frames = Number(args.frames);
const fraction = Number(args.fraction);
if (!(minutes > 0) || !Number.isInteger(frames) || frames < 4 || !(fraction > 0 && fraction < 1))
  throw new Error('--minutes must be > 0, --frames an integer >= 4, --fraction in (0, 1)');

const MOUSE = path.resolve('../shared/datasets/dlc_reaching_mouse');
/** Confidence bin edges of the reliability table. */
const BINS = [0, 0.2, 0.4, 0.6, 0.8, 1];
/** PCK threshold: a point is correct within this fraction of the image's longer side. */
const PCK_FRACTION = 0.05;

interface ScoredPoint {
  confidence: number;
  error: number;
  /** The PCK threshold of its image, in pixels. */
  threshold: number;
}

/** Runs the CLI; returns the id of the run it created. */
function cli(...argv: string[]): number {
  const result = spawnSync(process.execPath, ['bin/landmark-studio.mjs', ...argv], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`landmark-studio ${argv[0]} failed (${result.status}):\n${result.stderr.slice(-2000)}`);
  const run = /^run (\d+)$/m.exec(result.stdout);
  return run ? Number(run[1]) : -1;
}

/** Trains for `minutes` on the train split, predicts the test split, scores every labeled point. */
function trainAndScore(projectDir: string, labels: string[]): ScoredPoint[] {
  const trainRun = cli(
    'train',
    projectDir,
    '--head',
    'heatmap',
    ...labels,
    '--seed',
    '1',
    '--minutes',
    String(minutes),
  );
  const predictRun = cli('predict', projectDir, '--run', String(trainRun), '--split', 'test');
  const store = ProjectStore.open(projectDir);
  try {
    return store.runs.predictions(predictRun).flatMap((p) => {
      const truth = store.annotations.get(p.imageId, p.keypointId);
      if (!truth || truth.visibility === 'absent') return [];
      const image = store.images.get(p.imageId)!;
      const threshold = PCK_FRACTION * Math.max(image.width, image.height);
      return [{ confidence: p.confidence, error: Math.hypot(p.x - truth.x, p.y - truth.y), threshold }];
    });
  } finally {
    store.close();
  }
}

interface Bin {
  lo: number;
  hi: number;
  points: number;
  meanError: number;
  pck: number;
}

function reliability(points: ScoredPoint[]): Bin[] {
  return BINS.slice(0, -1).map((lo, i) => {
    const hi = BINS[i + 1]!;
    const inBin = points.filter((p) => p.confidence >= lo && (p.confidence < hi || (hi === 1 && p.confidence <= 1)));
    const n = inBin.length;
    return {
      lo,
      hi,
      points: n,
      meanError: n ? inBin.reduce((s, p) => s + p.error, 0) / n : NaN,
      pck: n ? inBin.filter((p) => p.error <= p.threshold).length / n : NaN,
    };
  });
}

function report(name: string, points: ScoredPoint[], bins: Bin[]): void {
  const share = lowConfidenceShareOfLargeErrors(points, fraction);
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  console.log(`\n${name}: ${points.length} labeled test points`);
  console.log(
    `  large errors (worst ${pct(fraction)}) among the ${pct(fraction)} least confident: ${pct(share)} (chance ${pct(fraction)})`,
  );
  console.log(`  confidence  points  mean error (px)  PCK@${PCK_FRACTION} of the longer side`);
  for (const b of bins)
    console.log(
      `  ${b.lo.toFixed(1)}-${b.hi.toFixed(1)}     ${String(b.points).padStart(6)}  ${Number.isNaN(b.meanError) ? '-' : b.meanError.toFixed(1).padStart(15)}  ${Number.isNaN(b.pck) ? '-' : pct(b.pck)}`,
    );
}

/** PCK against confidence per dataset, the diagonal for reference; bins without points left out. */
function reliabilitySvg(series: { name: string; color: string; bins: Bin[] }[]): string {
  const size = 300;
  const pad = 40;
  const x = (v: number) => pad + v * size;
  const y = (v: number) => pad + (1 - v) * size;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size + 2 * pad + 160}" height="${size + 2 * pad}" font-family="sans-serif" font-size="11">`,
    `<rect x="${x(0)}" y="${y(1)}" width="${size}" height="${size}" fill="none" stroke="#999"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#ccc" stroke-dasharray="4 3"/>`,
    `<text x="${x(0.5)}" y="${y(0) + 30}" text-anchor="middle">confidence (bin centre)</text>`,
    `<text transform="translate(12 ${y(0.5)}) rotate(-90)" text-anchor="middle">PCK@${PCK_FRACTION} of the longer side</text>`,
  ];
  for (const t of [0, 0.5, 1])
    parts.push(
      `<text x="${x(t)}" y="${y(0) + 14}" text-anchor="middle">${t}</text>`,
      `<text x="${x(0) - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`,
    );
  series.forEach((s, k) => {
    const filled = s.bins.filter((b) => b.points > 0);
    const coords = filled.map((b) => `${x((b.lo + b.hi) / 2).toFixed(1)},${y(b.pck).toFixed(1)}`);
    parts.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [i, b] of filled.entries()) {
      const [cx, cy] = coords[i]!.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="${2 + Math.sqrt(b.points) / 2}" fill="${s.color}" opacity="0.7"/>`);
    }
    parts.push(`<text x="${x(1) + 12}" y="${y(1) + 14 + 16 * k}" fill="${s.color}">${s.name}</text>`);
  });
  parts.push(`<text x="${x(1) + 12}" y="${y(1) + 60}" fill="#666">dot area: points in bin</text>`, '</svg>');
  return parts.join('\n') + '\n';
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'landmark-bench-confidence-'));
  try {
    console.log(
      `load average ${os.loadavg()[0]!.toFixed(1)}, ${os.cpus().length} CPUs, ${minutes} min of training each`,
    );

    // Demo frames: the first half train (20 labels with the default 40), the second half is test.
    const demo = path.join(work, 'demo-data');
    const labels = await writeDemoDataset(demo, { regime: 'frame', count: frames, seed: 1 });
    const files = labels.items.map((item) => item.file);
    writeFileSync(path.join(work, 'labels.json'), importableLabelsJson(labels, new Set(files)));
    writeFileSync(path.join(work, 'test.txt'), files.slice(frames / 2).join('\n'));
    const demoProject = path.join(work, 'demo');
    cli('init', demoProject, '--images', path.join(demo, 'images'));
    cli('import', demoProject, '--labels', path.join(work, 'labels.json'));
    cli('split', demoProject, '--test-list', path.join(work, 'test.txt'));
    const demoPoints = trainAndScore(demoProject, ['--labels', String(frames / 2)]);

    const mouseProject = path.join(work, 'mouse');
    cli('init', mouseProject, '--images', path.join(MOUSE, 'images'));
    cli(
      'import',
      mouseProject,
      '--dlc',
      path.join(MOUSE, 'CollectedData_Mackenzie.csv'),
      '--config',
      path.join(MOUSE, 'config.yaml'),
    );
    cli('split', mouseProject, '--test-fraction', '0.3', '--seed', '1');
    const mousePoints = trainAndScore(mouseProject, []);

    const series = [
      { name: `demo frames (${frames / 2} labels)`, color: '#d95f02', points: demoPoints },
      { name: 'dlc_reaching_mouse', color: '#1b9e77', points: mousePoints },
    ].map((s) => ({ ...s, bins: reliability(s.points) }));
    for (const s of series) report(s.name, s.points, s.bins);
    mkdirSync('bench/plots', { recursive: true });
    writeFileSync('bench/plots/confidence-reliability.svg', reliabilitySvg(series));
    console.log(`\nplot: bench/plots/confidence-reliability.svg; load average ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
