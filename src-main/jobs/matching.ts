// Matching, parent side: checks a request against the project (a features run with a backbone,
// a reference point inside its image, a target that is another, readable image), runs the job in a
// worker, and stores what a person asked for as an overlay (under the features run, so it goes
// with it; reading it back needs no worker). Also the Tab. 1 benchmark on the project's labels and
// label propagation from labeled images.
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { ImageSummary, MatchResult, Split } from '../../src-shared/domain.js';
import type { Point } from '../../src-shared/geometry.js';
import { createRng } from '../../src-shared/random.js';
import { DEFAULT_DESCRIPTOR_CACHE_BYTES } from '../ml/matching/descriptorCache.js';
import type { ProjectStore } from '../store/projectStore.js';
import { workerEntry } from './executeRun.js';
import { featureSourceOf } from './featureRuns.js';
import type { JobLabeledImage } from './jobTypes.js';
import type {
  DescriptorJobSettings,
  MatchEvaluateResult,
  MatchJobResult,
  MatchPayload,
  PropagateResult,
} from './matchTypes.js';
import { allItems, itemFrame, itemsOfSplit, jobImage, labelsOf } from './projectData.js';
import { runJob, type WorkerEntry } from './runner.js';

export interface MatchingOptions {
  entry?: WorkerEntry;
  /** Descriptor cache cap in bytes (default DEFAULT_DESCRIPTOR_CACHE_BYTES). */
  cacheCapBytes?: number;
}

export function descriptorSettings(
  store: ProjectStore,
  features: number | 'random',
  options: MatchingOptions = {},
): DescriptorJobSettings {
  return {
    features: featureSourceOf(store, features),
    descriptorCache: {
      dir: path.join(store.cacheDir, 'descriptors'),
      capBytes: options.cacheCapBytes ?? DEFAULT_DESCRIPTOR_CACHE_BYTES,
    },
    cacheDir: store.cacheDir,
  };
}

function usableImage(store: ProjectStore, imageId: number, role: string): ImageSummary {
  const item = allItems(store).find((i) => i.id === imageId);
  if (!item) throw new ApiError('not_found', `No image ${imageId} in this project (the ${role}).`);
  if (item.problem !== null)
    throw new ApiError('invalid', `The ${role} image ${item.relPath} cannot be used: ${item.problem}.`);
  return item;
}

async function run<T>(kind: string, payload: unknown, options: MatchingOptions): Promise<T> {
  const { result } = await runJob(options.entry ?? workerEntry(), kind, payload);
  return result as T;
}

export interface MatchRequest {
  features: number | 'random';
  referenceImageId: number;
  /** The keypoint whose label on the reference is matched (and whose overlay it is)... */
  keypointId?: number;
  /** ...or a point of the reference image, original pixels. */
  point?: { x: number; y: number };
  targetImageId: number;
}

/** Matches one reference point on a target and stores the similarity map as an overlay. */
export async function matchOnImage(
  store: ProjectStore,
  req: MatchRequest,
  options: MatchingOptions = {},
): Promise<{ match: MatchResult; overlayId: number; keypointId: number | null }> {
  const settings = descriptorSettings(store, req.features, options);
  const reference = usableImage(store, req.referenceImageId, 'reference');
  const target = usableImage(store, req.targetImageId, 'target');
  if (reference.id === target.id)
    throw new ApiError(
      'invalid',
      `The reference and the target are the same image (${reference.relPath}): a point matched onto itself tells nothing; pick another target.`,
    );
  if ((req.keypointId === undefined) === (req.point === undefined))
    throw new ApiError('invalid', 'Give either the keypoint whose label is matched, or a point, not both.');
  let point: Point;
  if (req.keypointId !== undefined) {
    const keypoint = store.keypoints.get(req.keypointId);
    if (!keypoint) throw new ApiError('not_found', `No keypoint ${req.keypointId} in this project.`);
    const label = store.annotations.listForImage(reference.id).find((a) => a.keypointId === keypoint.id);
    if (!label || label.visibility === 'absent')
      throw new ApiError(
        'invalid',
        `${keypoint.name} is not labeled on the reference image ${reference.relPath}: label it there, or give a point.`,
      );
    point = [label.x, label.y];
  } else {
    point = [req.point!.x, req.point!.y];
  }
  const frame = itemFrame(reference);
  if (!(point[0] >= frame.x && point[1] >= frame.y && point[0] <= frame.x + frame.w && point[1] <= frame.y + frame.h))
    throw new ApiError(
      'invalid',
      `The point (${point[0]}, ${point[1]}) is outside the reference image ${reference.relPath} (${frame.x}..${frame.x + frame.w} x ${frame.y}..${frame.y + frame.h} pixels).`,
    );
  const payload: MatchPayload = {
    ...settings,
    reference: jobImage(store, reference),
    points: [point],
    targets: [jobImage(store, target)],
  };
  const result = await run<MatchJobResult>('match', payload, options);
  const matched = result.targets[0]?.matches[0];
  if (!matched)
    throw new ApiError(
      'invalid',
      `The target image ${target.relPath} cannot be read: ${result.problems.find((p) => p.startsWith('target')) ?? 'unknown error'}. Fix or replace the file, then match again.`,
    );
  const overlayId = store.overlays.put({
    runId: settings.features.runId,
    imageId: target.id,
    keypointId: req.keypointId ?? null,
    kind: 'match',
    width: matched.map.width,
    height: matched.map.height,
    bounds: matched.map.bounds,
    values: matched.map.values,
    reference: { imageId: reference.id, x: point[0], y: point[1] },
    match: matched.match,
  });
  return { match: matched.match, overlayId, keypointId: req.keypointId ?? null };
}

/** Labeled images of a split (or all), with their points for every keypoint (schema order). */
export function labeledImages(
  store: ProjectStore,
  split: Split | 'all',
): { images: JobLabeledImage[]; keypointIds: number[] } {
  const keypointIds = store.keypoints.list().map((k) => k.id);
  const images = itemsOfSplit(store, split)
    .filter((item) => item.labeledCount > 0)
    .map((item) => ({ ...jobImage(store, item), points: labelsOf(store, item.id, keypointIds) }));
  return { images, keypointIds };
}

/** Tab. 1's protocol on the project's labels: up to `pairs` same-instance and `pairs` different-instance pairs. */
export async function evaluateMatching(
  store: ProjectStore,
  req: { features: number | 'random'; split: Split | 'all'; pairs: number; seed: number },
  options: MatchingOptions = {},
): Promise<MatchEvaluateResult & { keypointNames: string[] }> {
  const settings = descriptorSettings(store, req.features, options);
  const { images, keypointIds } = labeledImages(store, req.split);
  if (images.length < 2)
    throw new ApiError(
      'invalid',
      `Matching is evaluated on labeled images: ${req.split === 'all' ? 'the project' : `the ${req.split} split`} has ${images.length}, at least 2 are needed.`,
    );
  const rng = createRng(req.seed);
  const differentPairs: [number, number][] = [];
  for (let i = 0; i < req.pairs; i++) {
    const r = rng.int(0, images.length - 1);
    let t = rng.int(0, images.length - 2);
    if (t >= r) t++;
    differentPairs.push([r, t]);
  }
  const result = await run<MatchEvaluateResult>(
    'matchEvaluate',
    { ...settings, images, samePairs: req.pairs, differentPairs, seed: req.seed },
    options,
  );
  const names = new Map(store.keypoints.list().map((k) => [k.id, k.name]));
  return { ...result, keypointNames: keypointIds.map((id) => names.get(id)!) };
}

/** Every keypoint of `imageIds` from the k most similar labeled images (`fromImageIds`, default the train split's). */
export async function propagateToImages(
  store: ProjectStore,
  req: { features: number | 'random'; imageIds: number[]; fromImageIds?: number[]; k: number },
  options: MatchingOptions = {},
): Promise<PropagateResult & { keypointIds: number[] }> {
  const settings = descriptorSettings(store, req.features, options);
  const targets = req.imageIds.map((id) => usableImage(store, id, 'target'));
  const { images, keypointIds } = labeledImages(store, req.fromImageIds ? 'all' : 'train');
  const targetIds = new Set(req.imageIds);
  const from = req.fromImageIds ? new Set(req.fromImageIds) : null;
  const labeled = images.filter((i) => !targetIds.has(i.id) && (from === null || from.has(i.id)));
  if (labeled.length === 0)
    throw new ApiError(
      'invalid',
      `Label propagation needs at least one labeled image other than the targets${from ? ' among fromImageIds' : ' in the train split'}.`,
    );
  const result = await run<PropagateResult>(
    'propagate',
    { ...settings, labeled, targets: targets.map((t) => jobImage(store, t)), k: req.k },
    options,
  );
  return { ...result, keypointIds };
}
