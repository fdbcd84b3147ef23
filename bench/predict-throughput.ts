// Prediction throughput, from image file to stored prediction: a trained heatmap head predicts
// every image of a project of 640x480 demo frames through the services (runs.predict: the job
// worker decodes, letterboxes, runs the network, decodes peaks and sends back predictions and the
// heatmap/match overlays, which the parent stores in SQLite). Next to it, in the same run, the
// PyTorch twin of the network (bench/pytorch/heatmap_reference.py --infer) on the same files,
// decoding included, as a ratio. The model's accuracy does not matter here: it trains 2 steps.
//   npm run bench:predict [-- --frames 120 --size 256]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dispatch, type ApiMethod, type ApiRequest, type ApiResponse } from '../src-shared/api.js';
import { importableLabelsJson, writeDemoDataset } from '../src-main/ml/demo/writeDataset.js';
import { ANYWHERE } from '../src-main/services/pathPolicy.js';
import { createServices } from '../src-main/services/index.js';
import { writeFileSync } from 'node:fs';

const { values: args } = parseArgs({
  options: { frames: { type: 'string', default: '120' }, size: { type: 'string', default: '256' } },
});
const frames = Number(args.frames);
const size = Number(args.size);

const root = mkdtempSync(path.join(os.tmpdir(), 'ls-bench-predict-'));
const services = createServices({ paths: ANYWHERE });
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
  const started = performance.now();
  const predicted = await call('runs.predict', { runId: trained.id, split: 'all' });
  const wall = (performance.now() - started) / 1000;
  const inWorker = Number(predicted.metrics?.imagesPerSecond);
  const ours = frames / wall;

  const twin = spawnSync(
    'python3',
    ['bench/pytorch/heatmap_reference.py', '--infer', '--data', data, '--input-size', String(size)],
    { encoding: 'utf8' },
  );
  const pytorch =
    twin.status === 0 ? (JSON.parse(twin.stdout.trim().split('\n').at(-1)!) as Record<string, number>) : null;

  console.log(`backend: ${trained.backend}`);
  console.log(`load average at start: ${load}; ${frames} frames of 640x480, input ${size}`);
  console.log(
    `ours: ${ours.toFixed(2)} images/s from the call to stored predictions (${wall.toFixed(1)} s, worker start and overlays included); ${inWorker.toFixed(2)} images/s inside the worker`,
  );
  if (pytorch) {
    console.log(
      `pytorch ${pytorch.torch} (${pytorch.threads} threads): ${pytorch.imagesPerSecond} images/s (${pytorch.seconds} s, decoding included, nothing stored)`,
    );
    console.log(
      `ratio ours/pytorch: ${(ours / pytorch.imagesPerSecond!).toFixed(3)} end to end, ${(inWorker / pytorch.imagesPerSecond!).toFixed(3)} inside the worker`,
    );
  } else console.log(`pytorch twin did not run: ${twin.stderr.trim().split('\n').at(-1) ?? twin.error?.message}`);
} finally {
  services.close();
  rmSync(root, { recursive: true, force: true });
}
