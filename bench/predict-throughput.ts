// Prediction throughput, from image file to stored prediction: a trained heatmap head predicts
// every image of a project of 640x480 demo frames through the services (runs.predict: the job
// worker decodes, letterboxes, runs the network, decodes peaks and sends back predictions and the
// heatmap/match overlays, which the parent stores in SQLite), twice: with the worker the app and
// `serve` keep started ahead (warm), and with a worker forked for the call (cold, as one-shot CLI
// commands run); the preprocessed-input cache is emptied before each. Next to it, in the same run,
// the PyTorch twin of the network (bench/pytorch/heatmap_reference.py --infer) on the same files,
// decoding included, as a ratio. The model's accuracy does not matter here: it trains 2 steps.
//   npm run bench:predict [-- --frames 120 --size 256 --repeats 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dispatch, type ApiMethod, type ApiRequest, type ApiResponse } from '../src-shared/api.js';
import { importableLabelsJson, writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { ANYWHERE } from '../src-main/services/pathPolicy.js';
import { createServices } from '../src-main/services/index.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '120' },
    size: { type: 'string', default: '256' },
    repeats: { type: 'string', default: '5' },
  },
});
const frames = Number(args.frames);
const size = Number(args.size);
const repeats = Number(args.repeats);
const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');

const root = mkdtempSync(path.join(os.tmpdir(), 'ls-bench-predict-'));
const services = createServices({ paths: ANYWHERE, warmWorker: true });
const call = <M extends ApiMethod>(method: M, req: ApiRequest<M>) =>
  dispatch(services.handlers, method, req) as Promise<ApiResponse<M>>;
try {
  const data = path.join(root, 'frames');
  const labels = await writeDemoDataset(data, { regime: 'frame', count: frames, seed: 7 });
  const labelFile = path.join(root, 'labels.json');
  writeFileSync(labelFile, importableLabelsJson(labels, new Set(labels.items.slice(0, 8).map((i) => i.file))));
  await call('project.create', { projectDir: path.join(root, 'project'), imageRoot: path.join(data, 'images') });
  await call('io.import', { format: 'labels', file: labelFile });
  const trained = await call('runs.train', { head: 'heatmap', size, steps: 2, seed: 1 });

  const load = os.loadavg()[0]!.toFixed(1);
  const timePredict = async (client: typeof call) => {
    rmSync(path.join(root, 'project', 'cache', 'inputs'), { recursive: true, force: true });
    const started = performance.now();
    const predicted = await client('runs.predict', { runId: trained.id, split: 'all' });
    const wall = (performance.now() - started) / 1000;
    return { ours: frames / wall, inWorker: Number(predicted.metrics?.imagesPerSecond) };
  };
  const twin = (): Record<string, number> | string => {
    const run = spawnSync(
      'python3',
      ['bench/pytorch/heatmap_reference.py', '--infer', '--data', data, '--input-size', String(size)],
      { encoding: 'utf8' },
    );
    return run.status === 0
      ? (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number>)
      : (run.stderr.trim().split('\n').at(-1) ?? run.error?.message ?? 'unknown error');
  };
  const coldServices = createServices({ paths: ANYWHERE, projectDir: path.join(root, 'project') });
  const cold = <M extends ApiMethod>(method: M, req: ApiRequest<M>) =>
    dispatch(coldServices.handlers, method, req) as Promise<ApiResponse<M>>;
  // Alternating, so that both sides see the same machine: warm, cold, twin, warm, cold, twin, ...
  const warmRuns: { ours: number; inWorker: number }[] = [];
  const coldRuns: { ours: number; inWorker: number }[] = [];
  const twinRuns: Record<string, number>[] = [];
  let twinProblem: string | null = null;
  for (let r = 0; r < repeats; r++) {
    // The spare worker the previous job left behind has loaded its engine by now (about 0.8 s here).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    warmRuns.push(await timePredict(call));
    coldRuns.push(await timePredict(cold));
    const t: Record<string, number> | string = twinProblem === null ? twin() : twinProblem;
    if (typeof t === 'string') twinProblem = t;
    else twinRuns.push(t);
  }
  coldServices.close();

  console.log(`backend: ${trained.backend}`);
  console.log(
    `load average at start: ${load}; ${frames} frames of 640x480, input ${size}; ${repeats} runs each, alternating`,
  );
  for (const [name, runs] of [
    ['warm', warmRuns],
    ['cold', coldRuns],
  ] as const)
    console.log(
      `ours, ${name} worker: ${list(runs.map((r) => r.ours))} images/s from the call to stored predictions (median ${median(runs.map((r) => r.ours)).toFixed(2)}; overlays included${name === 'cold' ? ', worker start included' : ''}); inside the worker ${list(runs.map((r) => r.inWorker))}`,
    );
  if (twinRuns.length) {
    const twinRate = median(twinRuns.map((t) => t.imagesPerSecond!));
    console.log(
      `pytorch ${twinRuns[0]!.torch} (${twinRuns[0]!.threads} threads): ${list(twinRuns.map((t) => t.imagesPerSecond!))} images/s (median ${twinRate.toFixed(2)}; decoding included, nothing stored)`,
    );
    const ratio = (runs: { ours: number; inWorker: number }[], key: 'ours' | 'inWorker') =>
      (median(runs.map((r) => r[key])) / twinRate).toFixed(3);
    console.log(
      `ratio of medians ours/pytorch: ${ratio(warmRuns, 'ours')} end to end with the warm worker, ${ratio(coldRuns, 'ours')} cold; ${ratio(warmRuns, 'inWorker')} inside the worker`,
    );
  } else console.log(`pytorch twin did not run: ${twinProblem}`);
} finally {
  services.close();
  rmSync(root, { recursive: true, force: true });
}
