// The matching jobs (in the worker): descriptor maps of a features run (ml/matching), cached per
// (features, image); a point of a reference image matched on targets with its similarity maps;
// paper 001 Tab. 1's benchmark on labeled images; label propagation to new images.
import { statSync } from 'node:fs';
import type { Tensor4D } from '@tensorflow/tfjs';
import type { MatchResult } from '../../../src-shared/domain.js';
import {
  inputBounds,
  toInputPoint,
  toOriginalPoint,
  type InputTransform,
  type MaybePoint,
  type Point,
} from '../../../src-shared/geometry.js';
import { createRng, mixSeed } from '../../../src-shared/random.js';
import { DEFAULT_TPS, sampleTps, tpsPoints, warpTps } from '../../ml/augment/tps.js';
import { loadCheckpointBackbone } from '../../ml/backbones/checkpointBackbone.js';
import { createBackbone, type Backbone, type Taps } from '../../ml/backbones/index.js';
import { tf } from '../../ml/engine.js';
import { pixelsToTensor } from '../../ml/image/normalize.js';
import { preprocessImage, type PreprocessedImage } from '../../ml/image/preprocess.js';
import { DescriptorCache, type CachedDescriptors } from '../../ml/matching/descriptorCache.js';
import {
  describeInputs,
  describePixels,
  hostMaps,
  descriptorAt,
  gridToInput,
  inputToGrid,
  type DescriptorMap,
  type DescriptorNetwork,
} from '../../ml/matching/descriptors.js';
import { findPeaks, similarityMap } from '../../ml/matching/match.js';
import { propagateLabels } from '../../ml/matching/propagate.js';
import { ReferenceMatcher } from '../../ml/matching/referenceMatcher.js';
import { encodeFloat16 } from '../../../src-shared/float16.js';
import { readProjection } from '../../ml/pretrain/projection.js';
import type { DescriptorSourceSpec } from '../featureRuns.js';
import type { JobImage, JobLabeledImage } from '../jobTypes.js';
import type {
  DescriptorJobSettings,
  JobMap,
  MatchErrors,
  MatchEvaluatePayload,
  MatchEvaluateResult,
  MatchJobResult,
  MatchPayload,
  PredictMatching,
  PropagatePayload,
  PropagateResult,
  ReferenceMatches,
} from '../matchTypes.js';
import type { JobContext } from '../protocol.js';

/** Descriptor network of a features source; the caller disposes it. */
export function openDescriptorNetwork(spec: DescriptorSourceSpec): DescriptorNetwork & { dispose(): void } {
  if (spec.kind === 'projection') {
    const { config, weight, backbone } = readProjection(spec.weightsDir!);
    return {
      backbone,
      stages: config.stages,
      inputSize: config.inputSize,
      projection: weight,
      dispose: () => (backbone.dispose(), weight.dispose()),
    };
  }
  const label = spec.runId === null ? 'random init' : `run ${spec.runId}`;
  const backbone =
    spec.weightsDir === null
      ? createBackbone(spec.backbone, { seed: spec.seed, trainable: false })
      : loadCheckpointBackbone(spec.weightsDir, spec.backbone, spec.seed, label);
  return {
    backbone,
    stages: spec.stages,
    inputSize: spec.inputSize,
    gridStride: spec.gridStride,
    projection: null,
    dispose: () => backbone.dispose(),
  };
}

/** Names an image's content for the cache: path, crop, size and modification time of the file. */
function imageKey(image: JobImage): string {
  const stat = statSync(image.path);
  const crop = image.crop ? [image.crop.x, image.crop.y, image.crop.w, image.crop.h].join(',') : 'full';
  return `${image.path}|${crop}|${stat.size}|${stat.mtimeMs}`;
}

/**
 * Descriptor maps of images, from the cache where it has them; an image that cannot be read
 * gives an Error in its place (reported by the caller), the others go on.
 */
export async function describeImages(
  net: DescriptorNetwork,
  settings: DescriptorJobSettings,
  images: readonly JobImage[],
  problems: string[],
): Promise<{ described: (CachedDescriptors | Error)[]; cached: number }> {
  const cache = settings.descriptorCache
    ? new DescriptorCache(settings.descriptorCache.dir, settings.descriptorCache.capBytes, (m) => problems.push(m))
    : null;
  const out: (CachedDescriptors | Error | null)[] = images.map(() => null);
  const todo: { index: number; key: string | null; pixels: Uint8Array; transform: InputTransform }[] = [];
  let cached = 0;
  for (const [index, image] of images.entries()) {
    try {
      const key = cache ? imageKey(image) : null;
      const hit = cache && key ? cache.read(settings.features.cacheKey, key) : null;
      if (hit) {
        out[index] = hit;
        cached++;
        continue;
      }
      const pre = await preprocessImage(
        { path: image.path, crop: image.crop },
        { size: net.inputSize, mode: 'letterbox', cacheDir: settings.cacheDir },
      );
      todo.push({ index, key, pixels: pre.data, transform: pre.transform });
    } catch (err) {
      out[index] = new Error((err as Error).message);
    }
  }
  const maps = await describePixels(
    net,
    todo.map((t) => t.pixels),
  );
  todo.forEach((t, i) => {
    const entry = { map: maps[i]!, transform: t.transform };
    out[t.index] = entry;
    if (cache && t.key) cache.write(settings.features.cacheKey, t.key, entry);
  });
  return { described: out as (CachedDescriptors | Error)[], cached };
}

/** A grid laid over an image's network input: where its cells are in the image. */
type PlacedGrid = { map: Pick<DescriptorMap, 'width' | 'height'>; transform: InputTransform };

/** Original-pixel point -> grid coordinates of a map computed under `d.transform`. */
const toGrid = (d: PlacedGrid, p: Point): Point => inputToGrid(d.map, d.transform.width, toInputPoint(d.transform, p));
const toImage = (d: PlacedGrid, p: Point): Point =>
  toOriginalPoint(d.transform, gridToInput(d.map, d.transform.width, p));

/** A target's similarity map -> the match in the target's pixels. */
function matchOnTarget(similarity: Float32Array, target: PlacedGrid): MatchResult {
  const peaks = findPeaks(similarity, target.map.width, target.map.height);
  const [x, y] = toImage(target, peaks.point);
  const second = peaks.second ? toImage(target, peaks.second.point) : null;
  return {
    x,
    y,
    score: peaks.score,
    second: second && peaks.second ? { x: second[0], y: second[1], score: peaks.second.score } : null,
    margin: peaks.margin,
  };
}

/** Where a target's map lies over the target's pixels. */
function placement(target: PlacedGrid): Omit<JobMap, 'values'> {
  return { width: target.map.width, height: target.map.height, bounds: inputBounds(target.transform) };
}

/** Matches a reference point on a target: the match in the target's pixels, and the similarity map. */
export function matchPoint(
  reference: CachedDescriptors,
  point: Point,
  target: CachedDescriptors,
): { match: MatchResult; similarity: Float32Array } {
  const similarity = similarityMap(target.map, descriptorAt(reference.map, toGrid(reference, point)));
  return { match: matchOnTarget(similarity, target), similarity };
}

async function withNetwork<T>(settings: DescriptorJobSettings, fn: (net: DescriptorNetwork) => Promise<T>): Promise<T> {
  const net = openDescriptorNetwork(settings.features);
  try {
    return await fn(net);
  } finally {
    net.dispose();
  }
}

export async function matchJob(payload: unknown, ctx: JobContext): Promise<MatchJobResult> {
  const p = payload as MatchPayload;
  return withNetwork(p, async (net) => {
    const problems: string[] = [];
    ctx.progress({ step: 0, totalSteps: 1 + p.targets.length, message: 'describing the images' });
    const { described, cached } = await describeImages(net, p, [p.reference, ...p.targets], problems);
    const [reference, ...targets] = described;
    if (reference instanceof Error) throw new Error(`the reference image cannot be read (${reference.message})`);
    return {
      targets: targets.flatMap((target, i) => {
        const imageId = p.targets[i]!.id;
        if (target instanceof Error) {
          problems.push(`target image ${imageId} cannot be read (${target.message})`);
          return [];
        }
        return [
          {
            imageId,
            matches: p.points.map((point) => {
              const { match, similarity } = matchPoint(reference!, point, target);
              return { match, map: { ...placement(target), values: Array.from(similarity) } };
            }),
          },
        ];
      }),
      problems,
      cached,
    };
  });
}

function summarize(errors: number[][], keypoints: number, pairs: number): MatchErrors {
  const all = errors.flat();
  return {
    meanError: all.length ? all.reduce((s, e) => s + e, 0) / all.length : NaN,
    perKeypoint: errors.map((e) => (e.length ? e.reduce((s, v) => s + v, 0) / e.length : null)).slice(0, keypoints),
    pairs,
    points: all.length,
  };
}

/** The visible labeled points of an image, original pixels (null where not visible). */
const visiblePoints = (image: JobLabeledImage): MaybePoint[] =>
  image.points.map((p) => (p && p.visibility === 'visible' ? ([p.x, p.y] as Point) : null));

export async function matchEvaluateJob(payload: unknown, ctx: JobContext): Promise<MatchEvaluateResult> {
  const p = payload as MatchEvaluatePayload;
  const started = performance.now();
  return withNetwork(p, async (net) => {
    const problems: string[] = [];
    const keypoints = p.images[0]?.points.length ?? 0;
    ctx.progress({ step: 0, totalSteps: 2, message: 'describing the labeled images' });
    const { described } = await describeImages(net, p, p.images, problems);
    described.forEach((d, i) => {
      if (d instanceof Error) problems.push(`image ${p.images[i]!.id} left out (${d.message})`);
    });

    // Different instances: reference labels matched onto the target, against the target's labels.
    const different: number[][] = Array.from({ length: keypoints }, () => []);
    let differentPairs = 0;
    for (const [r, t] of p.differentPairs) {
      const ref = described[r];
      const target = described[t];
      if (!ref || !target || ref instanceof Error || target instanceof Error) continue;
      differentPairs++;
      const refPoints = visiblePoints(p.images[r]!);
      const targetPoints = visiblePoints(p.images[t]!);
      refPoints.forEach((point, k) => {
        const truth = targetPoints[k];
        if (!point || !truth) return;
        const { match } = matchPoint(ref, point, target);
        different[k]!.push(Math.hypot(match.x - truth[0], match.y - truth[1]));
      });
    }

    // Same instance: each image against a TPS warp of its network input, whose points the warp moves.
    ctx.progress({ step: 1, totalSteps: 2, message: 'same-instance pairs' });
    const same: number[][] = Array.from({ length: keypoints }, () => []);
    const rng = createRng(mixSeed(p.seed, 18));
    const chosen = described
      .map((d, i) => ({ d, i }))
      .filter((e): e is { d: CachedDescriptors; i: number } => !(e.d instanceof Error))
      .slice(0, p.samePairs);
    let samePairs = 0;
    for (const { d, i } of chosen) {
      const image = p.images[i]!;
      const pre = await preprocessImage(
        { path: image.path, crop: image.crop },
        { size: net.inputSize, mode: 'letterbox', cacheDir: p.cacheDir },
      );
      const warp = sampleTps(rng, DEFAULT_TPS);
      const warpedPixels = tf.tidy(() => {
        const input = tf.div(tf.tensor4d(pre.data, [1, net.inputSize, net.inputSize, 3], 'int32').toFloat(), 255);
        return tf.cast(tf.round(tf.mul(warpTps(input as Tensor4D, [warp]), 255)), 'int32');
      });
      const data = Uint8Array.from(await warpedPixels.data());
      warpedPixels.dispose();
      const [warpedMap] = await describePixels(net, [data]);
      const warped: CachedDescriptors = { map: warpedMap!, transform: pre.transform };
      const inputPoints = visiblePoints(image).map((q) => (q ? toInputPoint(pre.transform, q) : null));
      const moved = tpsPoints(warp, inputPoints, net.inputSize, net.inputSize);
      samePairs++;
      inputPoints.forEach((q, k) => {
        const truthInput = moved[k];
        if (!q || !truthInput) return;
        const { match } = matchPoint(d, toOriginalPoint(pre.transform, q), warped);
        const truth = toOriginalPoint(pre.transform, truthInput);
        same[k]!.push(Math.hypot(match.x - truth[0], match.y - truth[1]));
      });
    }
    return {
      same: summarize(same, keypoints, samePairs),
      different: summarize(different, keypoints, differentPairs),
      problems,
      seconds: (performance.now() - started) / 1000,
    };
  });
}

export async function propagateJob(payload: unknown, ctx: JobContext): Promise<PropagateResult> {
  const p = payload as PropagatePayload;
  return withNetwork(p, async (net) => {
    const problems: string[] = [];
    ctx.progress({ step: 0, totalSteps: 1, message: 'describing the images' });
    const { described } = await describeImages(net, p, [...p.labeled, ...p.targets], problems);
    const labeled = described.slice(0, p.labeled.length).flatMap((d, i) => {
      if (d instanceof Error) {
        problems.push(`labeled image ${p.labeled[i]!.id} left out (${d.message})`);
        return [];
      }
      const points = visiblePoints(p.labeled[i]!).map((q) => (q ? toGrid(d, q) : null));
      return [{ map: d.map, points, descriptors: d }];
    });
    if (labeled.length === 0) throw new Error('none of the labeled images can be read');
    const predictions = described.slice(p.labeled.length).flatMap((d, i) => {
      const imageId = p.targets[i]!.id;
      if (d instanceof Error) {
        problems.push(`image ${imageId} cannot be read (${d.message})`);
        return [];
      }
      const points = propagateLabels(d.map, labeled, p.k).map((q) => {
        if (!q.point) return null;
        const [x, y] = toImage(d, q.point);
        return { x, y, score: q.score };
      });
      return [{ imageId, points }];
    });
    return { predictions, problems };
  });
}

/**
 * A prediction run's matching maps, made as it predicts: the labeled references are described at
 * the model's input size, then each batch of network inputs the head has just seen is matched on
 * the device (ml/matching/referenceMatcher.ts): its nearest reference by pooled descriptor, and
 * every keypoint that reference labels, with its similarity map. Where the features are the
 * model's own and the references are among the first batch's images, that batch's taps describe
 * them (no reading or pass of their own); otherwise they are read and described on opening.
 */
export class PredictionMatcher {
  private readonly matches = new Map<number, ReferenceMatches>();
  private references: { image: JobLabeledImage; points: MaybePoint[] }[] = [];

  private constructor(
    private readonly net: DescriptorNetwork & { dispose(): void },
    private readonly matcher: ReferenceMatcher,
    /** The features are the predicting model's backbone at its input size: its head's taps are described. */
    private readonly describesTaps: boolean,
    /** References still to be described from the first batch (empty once they are). */
    private pending: JobLabeledImage[],
    private readonly problems: string[],
  ) {}

  /**
   * Null (with the reason in `problems`) when none of the references can be read. `model`: the
   * predicting model's folder and backbone, used as is when the features are that run's own, and
   * the stages its head passes to onBatch. `firstBatch`: the ids of the images of the first batch
   * matchBatch will see.
   */
  static async open(
    settings: PredictMatching,
    inputSize: number,
    problems: string[],
    model: { dir: string; backbone: Backbone; tapStages: readonly string[] },
    firstBatch: ReadonlySet<number> = new Set(),
  ): Promise<PredictionMatcher | null> {
    const { features } = settings;
    const own = features.kind === 'backbone' && features.weightsDir === model.dir;
    const net = own
      ? {
          backbone: model.backbone,
          stages: features.stages,
          inputSize: features.inputSize,
          gridStride: features.gridStride,
          projection: null,
          dispose() {},
        }
      : openDescriptorNetwork(features);
    const describesTaps =
      own && features.inputSize === inputSize && features.stages.every((s) => model.tapStages.includes(s));
    const matcher = new ReferenceMatcher(net);
    if (describesTaps && settings.references.every((image) => firstBatch.has(image.id)))
      return new PredictionMatcher(net, matcher, describesTaps, [...settings.references], problems);
    try {
      const read: { image: JobLabeledImage; pre: PreprocessedImage }[] = [];
      for (const image of settings.references) {
        try {
          const pre = await preprocessImage(
            { path: image.path, crop: image.crop },
            { size: inputSize, mode: 'letterbox', cacheDir: settings.cacheDir },
          );
          read.push({ image, pre });
        } catch (err) {
          problems.push(`labeled image ${image.id} left out of the matching maps (${(err as Error).message})`);
        }
      }
      if (read.length === 0) {
        problems.push('no matching maps: none of the labeled images can be read');
        net.dispose();
        return null;
      }
      const inputs = pixelsToTensor(
        read.map((r) => r.pre.data),
        inputSize,
        inputSize,
      );
      const maps = (() => {
        try {
          return describeInputs(net, inputs);
        } finally {
          inputs.dispose();
        }
      })();
      const opened = new PredictionMatcher(net, matcher, describesTaps, [], problems);
      opened.useReferences(read.map(({ image, pre }, r) => ({ image, map: maps[r]!, transform: pre.transform })));
      return opened;
    } catch (err) {
      matcher.dispose();
      net.dispose();
      throw err;
    }
  }

  /**
   * Matches a batch of network inputs [B, S, S, 3] in [0, 1] (not disposed), one row per image;
   * `taps`: the predicting model's backbone outputs on them (predictLandmarks' onBatch), or null.
   */
  matchBatch(images: Tensor4D, taps: Taps | null, rows: readonly { id: number; transform: InputTransform }[]): void {
    const described = this.matcher.describe(images, this.describesTaps ? taps : null);
    try {
      if (this.pending.length) this.describeReferences(described, rows);
      if (!this.matcher.hasReferences) return;
      this.matcher.match(described).forEach((found, i) => {
        const { id, transform } = rows[i]!;
        const target = { map: { width: found.width, height: found.height }, transform };
        const reference = this.references[found.reference]!;
        this.matches.set(id, {
          referenceImageId: reference.image.id,
          keypoints: found.maps.map((similarity, j) => {
            const point = reference.points[j];
            if (!similarity || !point) return null;
            return {
              point,
              match: matchOnTarget(similarity, target),
              map: { ...placement(target), values: encodeFloat16(similarity) },
            };
          }),
        });
      });
    } finally {
      described.dispose();
    }
  }

  /** The pending references, from the rows of this (the first) batch that hold them. */
  private describeReferences(described: Tensor4D, rows: readonly { id: number; transform: InputTransform }[]): void {
    const found = this.pending.flatMap((image) => {
      const row = rows.findIndex((r) => r.id === image.id);
      if (row < 0) this.problems.push(`labeled image ${image.id} left out of the matching maps (it cannot be read)`);
      return row < 0 ? [] : [{ image, row }];
    });
    this.pending = [];
    if (found.length === 0) {
      this.problems.push('no matching maps: none of the labeled images can be read');
      return;
    }
    const taken = tf.gather(
      described,
      found.map((f) => f.row),
    );
    const maps = (() => {
      try {
        return hostMaps(taken);
      } finally {
        taken.dispose();
      }
    })();
    this.useReferences(found.map(({ image, row }, r) => ({ image, map: maps[r]!, transform: rows[row]!.transform })));
  }

  private useReferences(described: { image: JobLabeledImage; map: DescriptorMap; transform: InputTransform }[]): void {
    this.references = described.map(({ image }) => ({ image, points: visiblePoints(image) }));
    this.matcher.setReferences(
      described.map(({ map, transform }, r) => ({
        map,
        points: this.references[r]!.points.map((q) => (q ? toGrid({ map, transform }, q) : null)),
      })),
    );
  }

  /** The matching maps of an image of a batch matched so far (handed over once: they are not kept). */
  take(imageId: number): ReferenceMatches | undefined {
    const found = this.matches.get(imageId);
    this.matches.delete(imageId);
    return found;
  }

  dispose(): void {
    this.matcher.dispose();
    this.net.dispose();
  }
}
