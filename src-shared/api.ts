// The typed API contract: every method's name, request schema (validated at run time before
// anything touches the database) and response type. The Electron IPC bridge, the HTTP host,
// the CLI and the tests all go through `apiMethods`.
import { z } from 'zod';
import type {
  AcceptResult,
  Annotation,
  EngineSummary,
  EvaluationReport,
  FolderSummary,
  HistoryResult,
  ImageRecord,
  ImageSummary,
  ImportReport,
  KeypointSchema,
  MatchingEvaluation,
  MatchResult,
  Overlay,
  Prediction,
  PropagatedImage,
  ProjectInfo,
  RunDetails,
  RunEstimate,
  ReviewItem,
  ReviewProgress,
  RunRecord,
  ScanProblem,
  SplitCounts,
  Suggestion,
} from './domain.js';
import {
  EXPORT_FORMATS,
  FINE_TUNE_CHOICES,
  IMAGE_FILTERS,
  IMPORT_FORMATS,
  OVERLAY_KINDS,
  PRETRAIN_METHODS,
  REVIEW_FILTERS,
  RUN_KINDS,
  SPLITS,
  TRAIN_BACKBONES,
  TRAIN_HEADS,
  VISIBILITIES,
} from './domain.js';

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Most optimisation steps a training run takes; also the cap of a run budgeted in minutes only. */
export const MAX_TRAIN_STEPS = 1_000_000;
/**
 * The heatmap head's default budget where a person starts a training run (Train screen, CLI
 * `train`): on real frames (DLC reaching mouse, 20 labels, 2-core CPU) the held-out error fell by a
 * quarter from 5 to 10 minutes and by 5% from 10 to 20 (bench/README.md "Default training budget"):
 * the shortest budget whose doubling gains less than a tenth. The API itself keeps
 * the head's step default, so that a caller that names neither gets a short, fixed run.
 */
export const DEFAULT_TRAIN_MINUTES = 10;
const name = z.string().trim().min(1).max(200);
/**
 * A file or folder path: no control characters (a NUL byte would cut it short in the system
 * calls) and no unpaired UTF-16 surrogates (they have no file name to stand for).
 */
const path = z
  .string()
  .min(1)
  .max(4096)
  .refine((text) => !/\p{Cc}/u.test(text), 'a path must not contain control characters (such as NUL)')
  .refine((text) => !/\p{Cs}/u.test(text), 'a path must be valid Unicode text');
/** Seed of a random choice (split, label draw, initialisation): an integer in 0..2^31. */
const fractionOfFrame = z.number().min(0).max(1);
/** Overrides of the heatmap head's geometric augmentation ranges (src-shared/augmentRanges.ts). */
const augmentOverride = z
  .object({
    rotationDegrees: z.number().min(0).max(180).optional(),
    scale: z
      .tuple([z.number().min(0.1).max(10), z.number().min(0.1).max(10)])
      .refine(([lo, hi]) => lo <= hi, 'scale must be [min, max] with min <= max')
      .optional(),
    translate: z.union([z.literal('anywhere'), z.tuple([fractionOfFrame, fractionOfFrame])]).optional(),
    flip: z.boolean().optional(),
  })
  .strict();
const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colour must be #rrggbb');
/** Image coordinates; range against the image size is checked by the service. */
const coord = z.number().finite().min(0).max(1e6);
const visibility = z.enum(VISIBILITIES);

/** A wall-clock budget in minutes. */
const minutes = z.number().positive().finite().max(1e6);

/** Settings of a few-shot training run (runs.train, runs.start). */
const trainSettings = z
  .object({
    head: z.enum(TRAIN_HEADS),
    backbone: z.enum(TRAIN_BACKBONES).default('resnet18'),
    /** 'random' or the id of a pretraining run whose backbone initialises the network. */
    features: z.union([z.literal('random'), id]).default('random'),
    /** Longer side of the network input, pixels (aspect kept); default per head. */
    size: z.number().int().min(32).max(2048).optional(),
    fineTune: z.enum(FINE_TUNE_CHOICES).optional(),
    /** Labeled images to train on; default all labeled train images. */
    labels: z.number().int().min(1).max(1_000_000).optional(),
    seed: seed.default(1),
    /** Optimisation steps; default the head's when no `minutes` is given, else as many as fit. */
    steps: z.number().int().min(1).max(MAX_TRAIN_STEPS).optional(),
    /**
     * Wall-clock budget: training stops after the step that spends it (or at `steps`, whichever
     * comes first), and the cosine learning-rate schedule runs out over it.
     */
    minutes: z
      .number()
      .finite('a training budget must be a finite number of minutes')
      .positive('a training budget must be a positive number of minutes, e.g. 5 or 0.5 (zero trains nothing)')
      .optional(),
    /**
     * Heatmap head: geometric augmentation ranges replacing those chosen from the labels
     * (GeometricAugmentation in augmentRanges.ts); each one left out stays as chosen.
     */
    augment: augmentOverride.optional(),
  })
  .strict();

/** Settings of an unsupervised pretraining run on the project's images or on `folder` (recursively). */
const pretrainSettings = z
  .object({
    /** DEFAULT_PRETRAIN_METHOD (dense-contrastive, the best measured few-shot gain) when left out, or a resumed run's. */
    method: z.enum(PRETRAIN_METHODS).optional(),
    backbone: z.enum(TRAIN_BACKBONES).optional(),
    /** Side of the square views, pixels; smaller images are upscaled. */
    size: z.number().int().min(16).max(1024).optional(),
    folder: path.optional(),
    epochs: z.number().int().min(1).max(1_000_000).optional(),
    minutes: z.number().positive().finite().optional(),
    batch: z.number().int().min(2).max(65_536).optional(),
    queue: z.number().int().min(2).max(1_000_000).optional(),
    checkpointMinutes: z.number().positive().finite().optional(),
    seed: seed.optional(),
    /** projection: the run whose hypercolumn is projected, or 'random' (a random-init ResNet-18). */
    features: z.union([z.literal('random'), id]).optional(),
    /** projection: dimension d of the projected descriptors (paper 001 Tab. 1: 64, 128, 256; default 256). */
    dim: z.number().int().min(1).max(4096).optional(),
  })
  .strict();

/** A run for the queue: its kind and the settings runs.pretrain / runs.train / runs.predict take. */
const queuedRunRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pretrain'), settings: pretrainSettings }).strict(),
  z.object({ kind: z.literal('train'), settings: trainSettings }).strict(),
  z
    .object({
      kind: z.literal('predict'),
      settings: z.object({ runId: id, split: z.enum([...SPLITS, 'all']).default('all') }).strict(),
    })
    .strict(),
  /** Pooled backbone features of every usable image from a training run's model (review.suggest). */
  z.object({ kind: z.literal('features'), settings: z.object({ runId: id }).strict() }).strict(),
]);

/** A label made from a prediction replaces a human or corrected label only with `overwrite: true`. */
const overwrite = z.boolean().default(false);

/** Request schemas. Keys are the method names used on every transport. */
export const apiRequests = {
  'project.create': z.object({ projectDir: path, imageRoot: path, name: name.optional() }).strict(),
  'project.open': z.object({ projectDir: path }).strict(),
  'project.info': z.object({}).strict(),
  'project.relink': z.object({ imageRoot: path }).strict(),

  'images.list': z
    .object({
      filter: z.enum(IMAGE_FILTERS).default('all'),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(100_000).default(1000),
    })
    .strict(),
  'images.get': z.object({ imageId: id }).strict(),
  'images.problems': z.object({}).strict(),

  'schema.get': z.object({}).strict(),
  'keypoints.add': z.object({ name, color: color.optional() }).strict(),
  'keypoints.update': z
    .object({ id, name: name.optional(), color: color.optional(), flipPartnerId: id.nullable().optional() })
    .strict(),
  'keypoints.reorder': z.object({ ids: z.array(id).min(1).max(1000) }).strict(),
  /**
   * Rejects pairing `a` with `b` as flip partners (a name-based proposal, or partners already
   * set, which are unpaired): imports do not pair them again. Setting them as partners with
   * keypoints.update lifts the rejection.
   */
  'keypoints.rejectFlipPair': z.object({ a: id, b: id }).strict(),
  /** Deleting a keypoint that has labels needs `confirm: true`. */
  'keypoints.delete': z.object({ id, confirm: z.boolean().default(false) }).strict(),
  'skeleton.addEdge': z.object({ a: id, b: id }).strict(),
  'skeleton.deleteEdge': z.object({ id }).strict(),
  'schema.setNormPair': z.object({ pair: z.tuple([id, id]).nullable() }).strict(),

  'annotations.list': z.object({ imageId: id }).strict(),
  'annotations.set': z
    .object({ imageId: id, keypointId: id, x: coord, y: coord, visibility: visibility.default('visible') })
    .strict(),
  /**
   * Keeps the point's coordinates (flipping back to visible restores it). A point never placed
   * can be marked absent (stored at the item's top-left corner); occluded/visible need a point.
   */
  'annotations.setVisibility': z.object({ imageId: id, keypointId: id, visibility }).strict(),
  'annotations.delete': z.object({ imageId: id, keypointId: id }).strict(),
  /** Copies every point of `fromImageId` onto `imageId` (one undo step). */
  'annotations.copyFrom': z.object({ imageId: id, fromImageId: id }).strict(),
  'history.undo': z.object({}).strict(),
  'history.redo': z.object({}).strict(),

  'io.import': z.object({ format: z.enum(IMPORT_FORMATS), file: path, configFile: path.optional() }).strict(),
  /** An existing `file` is replaced only with `overwrite: true`. */
  'io.export': z.object({ format: z.enum(EXPORT_FORMATS), file: path, overwrite: z.boolean().default(false) }).strict(),

  /**
   * Assigns every usable image to train / val / test: a seeded random `testFraction` of them, or
   * the images named in `testImages` (paths relative to the image root); `valFraction` of the
   * rest goes to val, the others to train. Items cut from one file share a split.
   */
  'images.split': z
    .object({
      testFraction: z.number().min(0).max(1).optional(),
      testImages: z.array(path).max(10_000_000).optional(),
      valFraction: z.number().min(0).max(1).default(0),
      seed: seed.default(1),
    })
    .strict(),

  'runs.list': z.object({ kind: z.enum(RUN_KINDS).optional() }).strict(),
  'runs.get': z.object({ runId: id }).strict(),
  /**
   * Trains a few-shot head on `labels` labeled images drawn (with `seed`) from the train split
   * (images in no split count as train); resolves when the run ends.
   */
  'runs.train': trainSettings,
  /**
   * Pretrains a backbone without labels; resolves when the run stops: its epochs or minutes
   * budget, or runs.cancel (which checkpoints it: a cancelled pretraining run is resumable, not
   * failed). `resume`: the id of a pretraining run to continue from its checkpoint (its other
   * settings are kept; `minutes` budgets this session). Its id is what runs.train takes as `features`.
   */
  'runs.pretrain': pretrainSettings.extend({ resume: id.optional() }).strict(),
  /** Predicts every usable image of a split ('all': every usable image) with a training run's model. */
  'runs.predict': z.object({ runId: id, split: z.enum([...SPLITS, 'all']).default('test') }).strict(),
  /** Scores a training (or prediction) run on a split's labels, predicting first when needed. */
  'runs.evaluate': z.object({ runId: id, split: z.enum(SPLITS).default('test') }).strict(),
  /** Stops a queued or running run; it ends 'cancelled' (a pretraining run keeps a checkpoint to resume). */
  'runs.cancel': z.object({ runId: id }).strict(),
  /**
   * Queues a run and returns at once with its record and place in the queue (0: it runs now).
   * One run computes at a time; the others wait in order, also across restarts of the app.
   * A training may name as features a pretraining run still queued or running ahead of it.
   */
  'runs.start': queuedRunRequest,
  /** How many steps and epochs a budget buys, from the pace of an earlier run like it. */
  'runs.estimate': queuedRunRequest,
  /** Checkpoints a running or queued pretraining run and stops it ('paused'); runs.resume continues it. */
  'runs.pause': z.object({ runId: id }).strict(),
  /** Queues a paused, cancelled or interrupted pretraining run again, from its checkpoint. */
  'runs.resume': z.object({ runId: id, minutes: minutes.optional() }).strict(),
  /** Deletes an ended run, its files and the runs made from it (predictions, evaluations); needs `confirm: true`. */
  'runs.delete': z.object({ runId: id, confirm: z.boolean().default(false) }).strict(),
  /** The compute engine the jobs run on (the job worker's, probed once). */
  'engine.info': z.object({}).strict(),
  /** Counts the usable images of a folder (recursively), e.g. before pretraining on it. */
  'folders.inspect': z.object({ folder: path }).strict(),
  'predictions.list': z.object({ runId: id, imageId: id.optional() }).strict(),
  /** Pools a training run's backbone features over every usable image; resolves when the run ends. */
  'runs.features': z.object({ runId: id }).strict(),

  /**
   * The images of a prediction run, least confident first (an image's score is its least
   * confident point, or the chosen keypoint's), with each point's label and distance to it.
   */
  'review.list': z
    .object({
      runId: id,
      keypointId: id.optional(),
      filter: z.enum(REVIEW_FILTERS).default('all'),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(100),
    })
    .strict(),
  /** Every predicted point of an image becomes a label (source 'accepted'), one undo step; marks it reviewed. */
  'review.acceptImage': z.object({ runId: id, imageId: id, overwrite }).strict(),
  'review.acceptPoint': z.object({ runId: id, imageId: id, keypointId: id, overwrite }).strict(),
  /** A predicted point dragged to (x, y): a label with source 'corrected' that keeps the prediction beside it. */
  'review.correct': z
    .object({
      runId: id,
      imageId: id,
      keypointId: id,
      x: coord,
      y: coord,
      visibility: visibility.default('visible'),
      overwrite,
    })
    .strict(),
  'review.markReviewed': z.object({ runId: id, imageId: id, reviewed: z.boolean().default(true) }).strict(),
  'review.progress': z.object({ runId: id }).strict(),
  /**
   * Queues a training with the settings of the latest finished training run (or `runId`'s) on
   * every labeled train image: human, accepted and corrected labels. The queue then evaluates
   * it on the test split, as it did the earlier run.
   */
  'review.retrain': z.object({ runId: id.optional() }).strict(),
  /**
   * Unlabeled images to label next, from a training run's pooled features (a features run of
   * it must have finished: runs.start kind 'features'); rule in docs/methods.md.
   */
  'review.suggest': z.object({ runId: id, count: z.number().int().min(1).max(10_000).default(10) }).strict(),

  /**
   * Where is this point on that image: the reference's label of `keypointId` (or `point`, original
   * pixels) matched on the target by cosine similarity of `features`' descriptors ('random', a
   * pretraining, projection or training run). The similarity map is stored as an overlay under the
   * features run (overlays.get reads it back without computing).
   */
  'matching.match': z
    .object({
      features: z.union([z.literal('random'), id]),
      referenceImageId: id,
      keypointId: id.optional(),
      point: z.object({ x: coord, y: coord }).strict().optional(),
      targetImageId: id,
    })
    .strict(),
  /** Paper 001 Tab. 1 on the labels of a split: mean pixel error of same- and different-instance matches. */
  'matching.evaluate': z
    .object({
      features: z.union([z.literal('random'), id]),
      split: z.enum([...SPLITS, 'all']).default('all'),
      pairs: z.number().int().min(1).max(10_000).default(100),
      seed: seed.default(1),
    })
    .strict(),
  /**
   * Pre-labels: every keypoint of the images matched from the k most similar labeled images
   * (`fromImageIds`, default every labeled train image) by pooled descriptor, combined by a median
   * weighted by match score.
   */
  'matching.propagate': z
    .object({
      features: z.union([z.literal('random'), id]),
      imageIds: z.array(id).min(1).max(10_000),
      fromImageIds: z.array(id).min(1).max(100_000).optional(),
      k: z.number().int().min(1).max(100).default(5),
    })
    .strict(),
  'overlays.get': z.object({ overlayId: id }).strict(),
  /** The newest overlay of (run, image, keypoint, kind); null when none is stored. */
  'overlays.find': z
    .object({ runId: id.nullable(), imageId: id, keypointId: id.nullable(), kind: z.enum(OVERLAY_KINDS) })
    .strict(),
} as const;

/** Response types, one per method. */
export interface ApiResponses {
  'project.create': ProjectInfo;
  'project.open': ProjectInfo;
  'project.info': ProjectInfo;
  /** missing: known files found nowhere (kept, marked as problems); added: files new to the project. */
  'project.relink': { relinked: number; missing: string[]; added: number };
  'images.list': { total: number; items: ImageSummary[] };
  'images.get': { image: ImageRecord; annotations: Annotation[] };
  'images.problems': ScanProblem[];
  'schema.get': KeypointSchema;
  'keypoints.add': KeypointSchema;
  'keypoints.update': KeypointSchema;
  'keypoints.reorder': KeypointSchema;
  'keypoints.rejectFlipPair': KeypointSchema;
  'keypoints.delete': KeypointSchema;
  'skeleton.addEdge': KeypointSchema;
  'skeleton.deleteEdge': KeypointSchema;
  'schema.setNormPair': KeypointSchema;
  'annotations.list': Annotation[];
  'annotations.set': Annotation;
  'annotations.setVisibility': Annotation;
  'annotations.delete': { deleted: boolean };
  'annotations.copyFrom': Annotation[];
  'history.undo': HistoryResult | null;
  'history.redo': HistoryResult | null;
  'io.import': ImportReport;
  'io.export': { file: string; count: number };
  'images.split': SplitCounts;
  'runs.list': RunRecord[];
  'runs.get': RunDetails;
  'runs.train': RunRecord;
  'runs.pretrain': RunRecord;
  'runs.predict': RunRecord;
  'runs.evaluate': EvaluationReport;
  'runs.cancel': { cancelled: boolean };
  'runs.start': { run: RunRecord; position: number };
  'runs.estimate': RunEstimate;
  'runs.pause': RunRecord;
  'runs.resume': { run: RunRecord; position: number };
  'runs.delete': { deleted: number[] };
  'engine.info': EngineSummary;
  'folders.inspect': FolderSummary;
  'predictions.list': Prediction[];
  'runs.features': RunRecord;
  'review.list': { total: number; items: ReviewItem[] };
  'review.acceptImage': AcceptResult;
  'review.acceptPoint': Annotation;
  'review.correct': Annotation;
  'review.markReviewed': { reviewed: boolean };
  'review.progress': ReviewProgress;
  /** previousRunId: the training run whose settings it took. */
  'review.retrain': { run: RunRecord; position: number; previousRunId: number };
  'review.suggest': Suggestion[];
  'matching.match': { match: MatchResult; overlayId: number };
  'matching.evaluate': MatchingEvaluation;
  'matching.propagate': { predictions: PropagatedImage[]; problems: string[] };
  'overlays.get': Overlay;
  'overlays.find': Overlay | null;
}

export type ApiMethod = keyof typeof apiRequests;
export const apiMethods = Object.keys(apiRequests) as ApiMethod[];
/** What a caller passes (defaults may be omitted). */
export type ApiRequest<M extends ApiMethod> = z.input<(typeof apiRequests)[M]>;
/** What a handler receives after validation (defaults filled in). */
export type ApiParsed<M extends ApiMethod> = z.output<(typeof apiRequests)[M]>;
export type ApiResponse<M extends ApiMethod> = ApiResponses[M];

/** The implementation behind every transport. */
export type ApiHandlers = { [M in ApiMethod]: (req: ApiParsed<M>) => Promise<ApiResponse<M>> | ApiResponse<M> };

/** What the renderer, CLI and tests call. */
export interface ApiClient {
  call<M extends ApiMethod>(method: M, req: ApiRequest<M>): Promise<ApiResponse<M>>;
}

export const API_ERROR_CODES = [
  'invalid',
  'not_found',
  'conflict',
  'confirm_required',
  'no_project',
  /** A path outside the folders the session may use (the same answer whether it exists or not). */
  'not_allowed',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** An error every transport carries unchanged to the caller: code plus a message for people. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  toJSON(): { code: ApiErrorCode; message: string; details?: unknown } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(apiRequests, method);
}

/** Validates a raw payload; throws ApiError('invalid') naming the bad field. */
export function parseRequest<M extends ApiMethod>(method: M, payload: unknown): ApiParsed<M> {
  const result = apiRequests[method].safeParse(payload ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
    throw new ApiError('invalid', `Invalid request for ${method}: ${issues.join('; ')}`, result.error.issues);
  }
  return result.data as ApiParsed<M>;
}

/** Validates then calls the handler: the single entry every transport uses. */
export async function dispatch(handlers: ApiHandlers, method: unknown, payload: unknown): Promise<unknown> {
  if (!isApiMethod(method)) throw new ApiError('invalid', `Unknown API method: ${String(method).slice(0, 100)}`);
  const req = parseRequest(method, payload);
  const handler = handlers[method] as (r: typeof req) => unknown;
  return await handler(req);
}
