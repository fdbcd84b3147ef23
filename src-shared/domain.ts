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

export interface KeypointSchema {
  keypoints: Keypoint[];
  edges: SkeletonEdge[];
  /** Keypoint ids whose distance normalises the error metric (e.g. the eyes); null = box diagonal. */
  normPair: [number, number] | null;
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

export interface Annotation {
  imageId: number;
  keypointId: number;
  x: number;
  y: number;
  visibility: Visibility;
  source: AnnotationSource;
  updatedAt: string;
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
}

/** Progress of long work (scans, imports, jobs), streamed as events. */
export interface ProgressEvent {
  task: string;
  done: number;
  total: number;
  message?: string;
}

/** What an undo or redo changed, so the UI can show that image. */
export interface HistoryResult {
  imageId: number;
  /** Every annotation of that image after the step (not only the changed ones). */
  annotations: Annotation[];
}

export const RUN_KINDS = ['pretrain', 'train', 'predict', 'evaluate'] as const;
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
