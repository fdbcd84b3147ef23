// What the parent hands each job kind and what the kind hands back: plain data over IPC. The
// parent (runs/*) builds payloads from the store; the worker (kinds/*) runs the ML on them.
import type { GeometricAugmentation } from '../../src-shared/augmentRanges.js';
import type { PredictMatching, ReferenceMatches } from './matchTypes.js';
import type { CropBox, FineTuneChoice, TrainBackbone, TrainHead, Visibility } from '../../src-shared/domain.js';

/** An image file (or a crop of it) a job reads; `id` is the store's image id. */
export interface JobImage {
  id: number;
  /** Absolute path of the file. */
  path: string;
  crop: CropBox | null;
}

export interface JobLabeledImage extends JobImage {
  /** One entry per keypoint of the run (its keypointIds order), original image pixels; null = unlabeled. */
  points: ({ x: number; y: number; visibility: Visibility } | null)[];
}

/** Backbone weights from a pretraining run's checkpoint folder (absolute path). */
export type FeatureSource = { kind: 'random' } | { kind: 'pretrained'; runId: number; checkpointDir: string };

/** What defines a trained model; stored in its weights file so prediction can rebuild it. */
export interface TrainedModelSpec {
  head: TrainHead;
  backbone: TrainBackbone;
  /** Longer side of the letterboxed network input, pixels. */
  inputSize: number;
  fineTune: FineTuneChoice;
  keypointCount: number;
  seed: number;
  steps: number;
}

export interface TrainPayload {
  spec: TrainedModelSpec;
  features: FeatureSource;
  items: JobLabeledImage[];
  /** Left/right partner index pairs (indices into the run's keypoints). */
  flipPairs: [number, number][];
  /** Wall-clock budget, seconds (null: the spec's steps alone end the training). */
  budgetSeconds: number | null;
  /** Heatmap head: geometric augmentation ranges (chosen from the labels, or overridden). */
  augmentation?: GeometricAugmentation;
  /** Absolute folder the trained model is written to. */
  modelDir: string;
  cacheDir: string | null;
}

export interface TrainResult {
  /** Labeled images the head trained on after leaving out unusable ones. */
  examples: number;
  problems: string[];
  /** Keypoint indices without any visible label. */
  unlabeledKeypoints: number[];
  /** Optimisation steps taken (fewer than spec.steps when the budget ended the run). */
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  finalLoss: number | null;
}

export interface PredictPayload {
  modelDir: string;
  images: JobImage[];
  cacheDir: string | null;
  /** Match each image's points from its most similar labeled image with these descriptors (null: no matching maps). */
  matching: PredictMatching | null;
}

/** One batch of a prediction run, sent as soon as it is predicted (the parent stores it as it comes). */
export interface PredictBatch {
  /** Per image, one point per keypoint of the training run, original image pixels. */
  predictions: {
    id: number;
    points: { x: number; y: number; confidence: number }[];
    /** The heatmap head's maps, one per keypoint as float16 bytes (compact over IPC, stored as they are), over `bounds`. */
    heatmaps?: { width: number; height: number; bounds: CropBox; maps: Uint8Array[] };
    /** The matching maps of `matching`, where the image could be described. */
    matches?: ReferenceMatches;
  }[];
}

/** The end of a prediction run: its predictions came before it, batch by batch. */
export interface PredictResult {
  predicted: number;
  problems: string[];
  seconds: number;
  imagesPerSecond: number;
}

export interface FeaturesPayload {
  modelDir: string;
  images: JobImage[];
  cacheDir: string | null;
}

export interface FeaturesResult {
  /** Per readable image: the pooled backbone features (one value per channel). */
  features: { id: number; vector: number[] }[];
  problems: string[];
  seconds: number;
}
