// Domain types shared by every side. Pure data: no Node, DOM or Electron.

export const VISIBILITIES = ['visible', 'occluded', 'absent'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const ANNOTATION_SOURCES = ['human', 'accepted', 'corrected'] as const;
export type AnnotationSource = (typeof ANNOTATION_SOURCES)[number];

export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const IMAGE_FILTERS = ['all', 'labeled', 'unlabeled', 'problems'] as const;
export type ImageFilter = (typeof IMAGE_FILTERS)[number];

/** labels: the {names, items} labels.json of the shared datasets (and the demo project). */
export const IMPORT_FORMATS = ['dlc', 'coco', 'csv', 'labels'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
/**
 * What io.export writes: the label formats, or the provenance of every label (image, keypoint,
 * predicted x/y, final x/y, source, run) as CSV or JSON.
 */
export const EXPORT_FORMATS = [...IMPORT_FORMATS, 'provenance-csv', 'provenance-json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface Keypoint {
  id: number;
  name: string;
  /** CSS hex colour, `#rrggbb`. */
  color: string;
  /** 0-based position in the labeling order. */
  order: number;
  /** Left/right partner swapped by horizontal flips; symmetric. */
  flipPartnerId: number | null;
}

export interface SkeletonEdge {
  id: number;
  a: number;
  b: number;
}

/** Left/right partners proposed from two keypoints' names (src-shared/flipPartners.ts). */
export interface FlipProposal {
  left: number;
  right: number;
}

export interface KeypointSchema {
  keypoints: Keypoint[];
  edges: SkeletonEdge[];
  /** Keypoint ids whose distance normalises the error metric (e.g. the eyes); null = box diagonal. */
  normPair: [number, number] | null;
  /** Partners proposed from names and not set yet: accept with keypoints.update, or reject. */
  flipProposals: FlipProposal[];
  /** Pairings the user rejected (keypoints.rejectFlipPair); an import does not set them again. */
  rejectedFlipPairs: [number, number][];
  /**
   * Keypoints whose names say they have a side but that have no partner, with why: training does
   * not flip images horizontally while any is left.
   */
  unpairedSides: { keypointId: number; reason: string }[];
}

/** A region of an image file, in that file's (EXIF-rotated) pixels. */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ImageSummary {
  id: number;
  relPath: string;
  /**
   * Set when this item is one instance cut from a file holding several (e.g. one face of many).
   * Coordinates of its annotations stay in the whole file's pixels.
   */
  crop: CropBox | null;
  width: number;
  height: number;
  split: Split | null;
  /** Number of keypoints with an annotation (any visibility). */
  labeledCount: number;
  /** Why the image cannot be used, or null. */
  problem: string | null;
}

export interface ImageRecord extends ImageSummary {
  hash: string;
  /** Orientation from EXIF (1-8); width/height are after applying it. */
  orientation: number;
}

/** Where the model put a point that became a label, and which prediction run put it there. */
export interface PredictedOrigin {
  x: number;
  y: number;
  runId: number;
}

export interface Annotation {
  imageId: number;
  keypointId: number;
  x: number;
  y: number;
  visibility: Visibility;
  source: AnnotationSource;
  updatedAt: string;
  /** Set for 'accepted' and 'corrected' labels: the prediction they came from. */
  predicted: PredictedOrigin | null;
}

export interface ScanProblem {
  relPath: string;
  reason: string;
}

export interface ProjectInfo {
  dir: string;
  name: string;
  imageRoot: string;
  schemaVersion: number;
  counts: {
    images: number;
    labeledImages: number;
    annotations: number;
    problems: number;
    keypoints: number;
    /** Images assigned to a split (0: the project has no split yet). */
    inSplits: number;
    /** Usable labeled images training can draw from (train split, or no split). */
    labeledTrain: number;
    /** Usable labeled images of the test split (what a training is evaluated on). */
    labeledTest: number;
  };
}

export interface ImportReport {
  format: ImportFormat;
  /** Images that received at least one point. */
  images: number;
  annotations: number;
  keypointsCreated: string[];
  /** Image references in the file that match no project image. */
  unmatched: string[];
  /** Items created per instance when an image holds several instances. */
  instances: number;
  /** What was left out and why (points outside their image, items on unusable images). */
  warnings?: string[];
  /** Left/right partners this import set: from the file's own pairs, or proposed from the names. */
  flipPairs: { left: string; right: string; source: 'file' | 'names' }[];
  /** Keypoints whose names say they have a side but that have no partner, with why. */
  unpairedSides: { name: string; reason: string }[];
}

/** Progress of long work (scans, imports, jobs), streamed as events. */
export interface ProgressEvent {
  task: string;
  done: number;
  total: number;
  message?: string;
  /** Set for the events of a run: what it reported, so screens can draw it live. */
  run?: RunProgress;
}

/** A run's live state: its status changes, each progress report and each loss-curve point. */
export interface RunProgress {
  runId: number;
  kind: RunKind;
  status: RunStatus;
  step?: number;
  totalSteps?: number;
  epoch?: number;
  loss?: number;
  imagesPerSec?: number;
  etaSec?: number;
  /** One step's values for the loss curves (run_metrics), when this event carries them. */
  point?: { step: number; values: Record<string, number> };
}

/** What an undo or redo changed, so the UI can show that image. */
export interface HistoryResult {
  imageId: number;
  /** Every annotation of that image after the step (not only the changed ones). */
  annotations: Annotation[];
  /** Set when the step changed labels a training run already trained on: that run keeps its model. */
  notice?: string;
}

/** features: pooled backbone features per image from a training run's model (review.suggest). */
export const RUN_KINDS = ['pretrain', 'train', 'predict', 'evaluate', 'features'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A pretraining, training, prediction or evaluation run, as recorded in the project. */
export interface RunRecord {
  id: number;
  kind: RunKind;
  method: string;
  config: Record<string, unknown>;
  status: RunStatus;
  /** The compute backend line the job reported (backend, device, threads). */
  backend: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  metrics: Record<string, unknown> | null;
  /** Relative to the project's models/ folder. */
  checkpointPath: string | null;
  parentRunId: number | null;
  error: string | null;
  /** The request a queued run was started with (runs.start); null for runs started directly. */
  request: Record<string, unknown> | null;
}

/** The kinds of run the run queue takes (runs.start). */
export const QUEUED_RUN_KINDS = ['pretrain', 'train', 'predict', 'features'] as const;
export type QueuedRunKind = (typeof QUEUED_RUN_KINDS)[number];

/** What the compute engine is, for the status bar (src-main/ml/engine.ts EngineInfo). */
export interface EngineSummary {
  backend: 'tensorflow' | 'cpu';
  provider: string;
  device: string;
  threads: number;
  gpu: boolean;
  /** Set when the engine is a slow fallback: what is wrong and what to do about it. */
  warning: string | null;
  notes: string[];
}

/** A folder's images as a pretraining source (folders.inspect). */
export interface FolderSummary {
  folder: string;
  images: number;
  /** Files with an image extension that cannot be used. */
  problems: number;
}

/** How far a budget goes (runs.estimate): from the pace of an earlier run like it, or a reference pace. */
export interface RunEstimate {
  images: number;
  batchSize: number;
  imagesPerSec: number;
  /** Where the pace comes from: 'run N' (this project) or 'reference' (measured on a 2-core CPU). */
  basis: string;
  steps: number;
  epochs: number;
  /** How long those steps take at that pace. */
  seconds: number;
}

export interface Prediction {
  runId: number;
  imageId: number;
  keypointId: number;
  x: number;
  y: number;
  /** In [0, 1]; how it is computed depends on the head (docs/methods.md). */
  confidence: number;
}

/** Few-shot landmark heads (DESIGN "Few-shot regressors"). */
export const TRAIN_HEADS = ['paper', 'heatmap'] as const;
export type TrainHead = (typeof TRAIN_HEADS)[number];

/** The product's backbones; smallnet (paper 004) is the small one for quick runs and tests. */
export const TRAIN_BACKBONES = ['resnet18', 'resnet50', 'smallnet'] as const;
export type TrainBackbone = (typeof TRAIN_BACKBONES)[number];

/** Unsupervised pretraining methods (DESIGN "Methods"). */
export const PRETRAIN_METHODS = ['moco', 'dense-contrastive', 'projection'] as const;
export type PretrainMethod = (typeof PRETRAIN_METHODS)[number];
/**
 * The pretraining `pretrain` runs without --method: the one with the best measured few-shot gain
 * on full frames (bench/README.md, 20 labels: dense contrastive 0.763x random init's held-out
 * error with the heatmap head; MoCo made it worse at every budget tried).
 */
export const DEFAULT_PRETRAIN_METHOD: PretrainMethod = 'dense-contrastive';

/** Which backbone stages a head trains: none (frozen features), the last used stage, or all. */
export const FINE_TUNE_CHOICES = ['none', 'last', 'all'] as const;
export type FineTuneChoice = (typeof FINE_TUNE_CHOICES)[number];

/** How many items each split holds after images.split. */
export interface SplitCounts {
  train: number;
  val: number;
  test: number;
  /** Items left out of every split (unusable images). */
  none: number;
}

/** A run with its step-level curves (e.g. loss) and evaluation rows. */
export interface RunDetails {
  run: RunRecord;
  curves: Record<string, { step: number; value: number }[]>;
  evaluations: { metric: string; value: number; perKeypoint: Record<string, number> | null }[];
}

/** Pixel error, normalised error (%) and PCK (0-1) overall and per keypoint name (src-shared/metrics.ts). */
export interface LandmarkScores {
  pixelError: number | null;
  nme: number | null;
  pck: number | null;
  perKeypoint: Record<string, { pixelError: number | null; nme: number | null; pck: number | null }>;
}

/** A trained model's predictions on one split scored against the labels, next to the mean-shape baseline. */
export interface EvaluationReport {
  evaluationRunId: number;
  trainRunId: number;
  predictRunId: number;
  split: Split;
  /** Labeled images scored and (image, keypoint) pairs with ground truth. */
  images: number;
  points: number;
  normalisation: 'pair' | 'bbox';
  pckAlpha: number;
  model: LandmarkScores;
  /** Each keypoint at its mean frame-relative position over the run's training labels. */
  baseline: LandmarkScores;
  /** The compute backend line of the training run. */
  backend: string | null;
  timings: {
    trainSeconds: number | null;
    trainImagesPerSecond: number | null;
    predictSeconds: number | null;
    predictImagesPerSecond: number | null;
  };
  /** Images of the split that could not be scored, with the reason. */
  problems: string[];
}

/** Which images of a prediction run review.list returns. */
export const REVIEW_FILTERS = ['all', 'unlabeled', 'labeled', 'reviewed', 'unreviewed'] as const;
export type ReviewFilter = (typeof REVIEW_FILTERS)[number];

/** One predicted point under review, with the image's label of that keypoint when it has one. */
export interface ReviewPoint {
  keypointId: number;
  x: number;
  y: number;
  confidence: number;
  label: Annotation | null;
  /** Pixels from the prediction to the label (null: no label, or an absent one). */
  distance: number | null;
}

/** An image of a prediction run in review order. */
export interface ReviewItem {
  image: ImageSummary;
  /** The least confident point's confidence (of the chosen keypoint with a keypoint filter). */
  score: number;
  reviewed: boolean;
  /** In the keypoints' labeling order. */
  points: ReviewPoint[];
}

/** How far the review of a prediction run has come. */
export interface ReviewProgress {
  runId: number;
  /** Images with predictions, and those marked reviewed. */
  total: number;
  reviewed: number;
  /** Labels now standing that came from this run: accepted as predicted, and corrected. */
  accepted: number;
  corrections: number;
  /** Mean pixels a corrected point moved from its prediction (null: no corrections). */
  meanCorrectionDistance: number | null;
}

/** What accepting predictions did: the image's labels after it, and the points left alone and why. */
export interface AcceptResult {
  annotations: Annotation[];
  accepted: number;
  skipped: { keypointId: number; reason: string }[];
}

/** An unlabeled image suggested for labeling next (review.suggest; rule in docs/methods.md). */
export interface Suggestion {
  image: ImageSummary;
  /** Feature distance to the nearest labeled or earlier-suggested image when it was chosen. */
  distance: number;
  /** Its least confident predicted point, when a prediction run of the model covers it. */
  confidence: number | null;
}

/** What an overlay map shows: a match's cosine similarities, or a landmark head's heatmap. */
export const OVERLAY_KINDS = ['match', 'heatmap'] as const;
export type OverlayKind = (typeof OVERLAY_KINDS)[number];

/** Where a point was matched on a target image, and how sure the match is. */
export interface MatchResult {
  /** Original image pixels of the target. */
  x: number;
  y: number;
  /** Cosine similarity at the match (1: the same descriptor). */
  score: number;
  /** The best other peak away from the match (a left/right swap shows here); null when there is none. */
  second: { x: number; y: number; score: number } | null;
  /** score - second.score: small margins are doubtful matches. */
  margin: number;
}

/**
 * A map over an image at feature resolution, as stored (overlays table): a match's similarity
 * map or a head's heatmap for one keypoint, with where it came from.
 */
export interface Overlay {
  id: number;
  /** The run it belongs to (a prediction run, or the features run of a person's query); deleted with it. */
  runId: number | null;
  imageId: number;
  keypointId: number | null;
  kind: OverlayKind;
  /** Grid size. */
  width: number;
  height: number;
  /** The original-pixel rectangle the whole grid spans (cell (i, j) covers 1/width, 1/height of it). */
  bounds: CropBox;
  /** Range of the values (for colour scaling). */
  valueMin: number;
  valueMax: number;
  /** Row-major values, height x width. */
  values: number[];
  /** Match maps: the reference image and point (original pixels) matched from. */
  reference: { imageId: number; x: number; y: number } | null;
  /** Match maps: the match itself. */
  match: MatchResult | null;
  createdAt: string;
}

/** Mean pixel error of nearest-neighbour matches of labeled points (paper 001 Tab. 1's measure). */
export interface MatchingErrors {
  /** Original pixels of the target. */
  meanError: number;
  /** By keypoint name; null where no point was matched. */
  perKeypoint: Record<string, number | null>;
  pairs: number;
  points: number;
}

/** Matching benchmark on a project's labels: same-instance (TPS-warped) and different-instance pairs. */
export interface MatchingEvaluation {
  features: number | 'random';
  same: MatchingErrors;
  different: MatchingErrors;
  problems: string[];
  seconds: number;
}

/** Label propagation's prediction of one image (pre-labels): one entry per keypoint it could place. */
export interface PropagatedImage {
  imageId: number;
  points: { keypointId: number; x: number; y: number; score: number }[];
}
