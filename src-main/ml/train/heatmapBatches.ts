// The heatmap head's training batches, made on a worker thread while the training thread runs
// the network. Each batch: every example warped by a random rotation, scale and horizontal flip
// that swaps flip partners (ranges from the config: a run's come from its labels,
// src-shared/augmentRanges.ts), shifted within its range, and cut to a training crop holding the
// labeled points (a plain crop would push small, off-centre objects out of view and waste those
// examples); then brightness/contrast jitter, ImageNet normalisation and the Gaussian targets.
//
// Why a thread: TensorFlow's eager ops run one at a time from the JavaScript thread, which sleeps
// while TensorFlow's own threads compute; everything else on that thread leaves a core idle. The
// batch (~30 ms of a ~450 ms step on two cores) is the largest such piece; made ahead on a worker
// it overlaps the previous step (bench/README.md "Few-shot regressors").
//
// The batches are plain arrays, made from the examples' 8-bit pixels by JavaScript alone
// (warpAffineValues, applyBrightnessContrast, normalizeImageNetValues, gaussianTargets), and
// depend only on the plan: the worker and heatmapBatchMaker called in-process give the same
// values for the same seed.
import type { Worker } from 'node:worker_threads';
import {
  applyAffineToPoints,
  chainAffine,
  permute,
  translation,
  type Affine,
  type MaybePoint,
} from '../../../src-shared/geometry.js';
import { createRng, type Rng } from '../../../src-shared/random.js';
import { sampleAffineAugment, warpAffineValues } from '../augment/affine.js';
import { startWorkerThread } from '../workerThread.js';
import { applyBrightnessContrast, samplePhotometric, type PhotometricConfig } from '../augment/photometric.js';
import { gaussianTargets } from '../heads/heatmapHead.js';
import { normalizeImageNetValues } from '../image/normalize.js';
import { batchSchedule, pointArrays } from './batches.js';
import type { HeatmapHeadConfig } from './config.js';

/** What the batches are made from: everything a worker needs (structured-cloneable). */
export interface HeatmapBatchPlan {
  examples: readonly { pixels: Uint8Array; points: readonly MaybePoint[]; mask: readonly boolean[] }[];
  /** Side of the letterboxed examples, pixels. */
  inputSize: number;
  /** Side of the training crops, pixels (<= inputSize). */
  cropSize: number;
  keypointCount: number;
  /** Keypoint permutation of a horizontal flip (flipPermutation). */
  flipPermutation: readonly number[];
  config: HeatmapHeadConfig;
  /** Seeds the batch order and every augmentation draw. */
  seed: number;
}

/** One batch: images [B, S, S, 3] normalised, targets [B, K, S/stride, S/stride], mask [B, K]. */
export interface HeatmapBatchArrays {
  count: number;
  images: Float32Array;
  targets: Float32Array;
  mask: Float32Array;
}

/** Brightness/contrast only: hue, saturation, grayscale and blur change what a landmark looks like. */
export function photometricConfig(config: HeatmapHeadConfig): PhotometricConfig {
  const { brightness, contrast } = config.augmentation;
  return {
    jitterProb: 1,
    brightness,
    contrast,
    saturation: 0,
    hue: 0,
    grayscaleProb: 0,
    blurProb: 0,
    blurSigma224: [0.1, 2],
  };
}

/** Uniform in [lo, hi] intersected with [min, max]; the point of [min, max] nearest 0 when they miss. */
function uniformWithin(rng: Rng, lo: number, hi: number, min: number, max: number): number {
  const a = Math.max(lo, min);
  const b = Math.min(hi, max);
  return a <= b ? rng.uniform(a, b) : Math.min(Math.max(0, min), max);
}

/**
 * A random rotation/scale/flip and shift of the letterbox, cut to the size x size output (a
 * training crop around the object when size < inputSize; a box larger than the output is placed
 * so that a random part of it is in view: over the steps every landmark is).
 * - translate 'anywhere': rotation about the letterbox centre, then the points' box goes anywhere
 *   it fits in the output, however far from its labeled place.
 * - translate [tx, ty]: rotation about the box's centre, a shift of at most tx, ty input sides
 *   that keeps the box in the letterbox, then a crop window inside the letterbox holding the box:
 *   the object stays about where it was labeled, with the frame's edges where they are.
 */
export function sampleAugmentation(
  rng: Rng,
  points: readonly MaybePoint[],
  inputSize: number,
  size: number,
  config: HeatmapHeadConfig,
): { matrix: Affine; flipped: boolean } {
  const { rotationDegrees, scale, flipProbability, translate } = config.augmentation;
  const present = points.filter((p): p is [number, number] => p !== null);
  const base = sampleAffineAugment(rng, inputSize, inputSize, {
    translate: 0,
    rotateDeg: rotationDegrees,
    scale,
    flipProb: flipProbability,
  });
  if (present.length === 0) return base;
  const box = (ps: readonly [number, number][]) => ({
    x0: Math.min(...ps.map((p) => p[0])),
    y0: Math.min(...ps.map((p) => p[1])),
    x1: Math.max(...ps.map((p) => p[0])),
    y1: Math.max(...ps.map((p) => p[1])),
  });
  // Keep a 1-pixel margin so a point on the box edge stays strictly inside.
  if (translate === 'anywhere') {
    const moved = box(applyAffineToPoints(base.matrix, present) as [number, number][]);
    const shift = (lo: number, hi: number): number =>
      hi - lo < size - 2 ? rng.uniform(1 - lo, size - 1 - hi) : rng.uniform(1 - hi, size - 1 - lo);
    return {
      matrix: chainAffine(base.matrix, translation(shift(moved.x0, moved.x1), shift(moved.y0, moved.y1))),
      flipped: base.flipped,
    };
  }
  const labeled = box(present);
  const half = inputSize / 2;
  const cx = (labeled.x0 + labeled.x1) / 2 - half;
  const cy = (labeled.y0 + labeled.y1) / 2 - half;
  const about = chainAffine(translation(-cx, -cy), base.matrix, translation(cx, cy));
  const moved = box(applyAffineToPoints(about, present) as [number, number][]);
  const dx = uniformWithin(
    rng,
    -translate[0] * inputSize,
    translate[0] * inputSize,
    1 - moved.x0,
    inputSize - 1 - moved.x1,
  );
  const dy = uniformWithin(
    rng,
    -translate[1] * inputSize,
    translate[1] * inputSize,
    1 - moved.y0,
    inputSize - 1 - moved.y1,
  );
  // the window's origin: inside the letterbox, holding the box (or, larger than it, a part of it)
  const origin = (lo: number, hi: number): number =>
    hi - lo < size - 2
      ? uniformWithin(rng, hi + 1 - size, lo - 1, 0, inputSize - size)
      : uniformWithin(rng, lo + 1 - size, hi - 1, 0, inputSize - size);
  const ox = origin(moved.x0 + dx, moved.x1 + dx);
  const oy = origin(moved.y0 + dy, moved.y1 + dy);
  return { matrix: chainAffine(about, translation(dx - ox, dy - oy)), flipped: base.flipped };
}

/** The plan's batches, made in this thread; call it for steps 0, 1, 2, ... in order. */
export function heatmapBatchMaker(plan: HeatmapBatchPlan): (step: number) => HeatmapBatchArrays {
  const { examples, inputSize, cropSize: size, config } = plan;
  const rng = createRng(plan.seed);
  const order = batchSchedule(examples.length, config.batchSize, rng);
  const cells = Math.ceil(size / config.outputStride);
  const jitter = photometricConfig(config);
  const targetSpec = { keypointCount: plan.keypointCount, outputStride: config.outputStride, sigma: config.sigma };
  return (step) => {
    const chosen = order(step).map((i) => examples[i]!);
    const augmentations = chosen.map((e) => sampleAugmentation(rng, e.points, inputSize, size, config));
    const points = chosen.map((e, i) => {
      const moved = applyAffineToPoints(augmentations[i]!.matrix, e.points);
      return augmentations[i]!.flipped ? permute(moved, plan.flipPermutation) : moved;
    });
    const masks = chosen.map((e, i) => (augmentations[i]!.flipped ? permute(e.mask, plan.flipPermutation) : e.mask));
    const images = warpAffineValues(
      { pixels: chosen.map((e) => e.pixels), height: inputSize, width: inputSize },
      augmentations.map((a) => a.matrix),
      size,
      size,
    );
    applyBrightnessContrast(
      images,
      size,
      size,
      chosen.map(() => samplePhotometric(rng, jitter, size)),
    );
    normalizeImageNetValues(images);
    const { targets: pointTargets, mask } = pointArrays(points, masks, size);
    const targets = gaussianTargets(targetSpec, pointTargets, mask, chosen.length, cells, cells);
    return { count: chosen.length, images, targets, mask };
  };
}

type WorkerReply = { step: number; batch: HeatmapBatchArrays } | { step: number; error: string };

/**
 * The plan's batches from a worker thread, `prefetch` steps ahead of the one asked for. next()
 * returns them in step order; a worker that fails rejects every later next() with its error.
 * close() when done (training ended, failed or was cancelled).
 */
export class HeatmapBatchWorker {
  private readonly worker: Worker;
  private readonly ready = new Map<number, HeatmapBatchArrays>();
  private waiting: { step: number; resolve: (b: HeatmapBatchArrays) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private requested = 0;
  private taken = 0;

  constructor(
    plan: HeatmapBatchPlan,
    private readonly prefetch = 2,
  ) {
    this.worker = startWorkerThread('heatmapBatchWorker', import.meta.dirname, plan);
    this.worker.on('message', (reply: WorkerReply) => {
      if ('error' in reply) this.fail(new Error(`batch ${reply.step}: ${reply.error}`));
      else if (this.waiting?.step === reply.step) {
        this.waiting.resolve(reply.batch);
        this.waiting = null;
      } else this.ready.set(reply.step, reply.batch);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`exited with code ${code}`)));
    this.requestAhead();
  }

  private requestAhead(): void {
    while (this.requested < this.taken + this.prefetch) this.worker.postMessage(this.requested++);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = new Error(`heatmap batch worker failed: ${err.message}`);
    this.waiting?.reject(this.failure);
    this.waiting = null;
  }

  async next(): Promise<HeatmapBatchArrays> {
    const step = this.taken++;
    this.requestAhead();
    const batch = this.ready.get(step);
    if (batch) {
      this.ready.delete(step);
      return batch;
    }
    if (this.failure) throw this.failure;
    return new Promise((resolve, reject) => {
      this.waiting = { step, resolve, reject };
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('heatmap batch worker closed');
    await this.worker.terminate();
  }
}
