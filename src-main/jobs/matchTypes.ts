// What the parent hands the matching jobs and what they hand back: plain data over IPC.
import type { CropBox, MatchResult } from '../../src-shared/domain.js';
import type { Point } from '../../src-shared/geometry.js';
import type { DescriptorSourceSpec } from './featureRuns.js';
import type { JobImage, JobLabeledImage } from './jobTypes.js';

export interface DescriptorJobSettings {
  features: DescriptorSourceSpec;
  /** Folder of the descriptor cache (null: none) and its cap in bytes. */
  descriptorCache: { dir: string; capBytes: number } | null;
  /** The project's preprocessed-image cache. */
  cacheDir: string | null;
}

/** Match points of one reference image on target images. */
export interface MatchPayload extends DescriptorJobSettings {
  reference: JobImage;
  /** Original image pixels of the reference. */
  points: Point[];
  targets: JobImage[];
}

/** A map at feature resolution and where it lies on its image. */
export interface JobMap {
  width: number;
  height: number;
  bounds: CropBox;
  values: number[];
}

export interface MatchJobResult {
  targets: { imageId: number; matches: { match: MatchResult; map: JobMap }[] }[];
  /** Targets that could not be read, and cache notes. */
  problems: string[];
  /** Images whose descriptors came from the cache. */
  cached: number;
}

/** Paper 001 Tab. 1's protocol on labeled images. */
export interface MatchEvaluatePayload extends DescriptorJobSettings {
  images: JobLabeledImage[];
  /** Same-instance pairs: each image against a TPS warp of itself (at most this many images). */
  samePairs: number;
  /** Different-instance pairs (reference index, target index) into `images`. */
  differentPairs: [number, number][];
  seed: number;
}

export interface MatchErrors {
  /** Mean pixel error (original pixels of the target) of every labeled point matched. */
  meanError: number;
  /** Per keypoint (index into the points), null where none was matched. */
  perKeypoint: (number | null)[];
  pairs: number;
  points: number;
}

export interface MatchEvaluateResult {
  same: MatchErrors;
  different: MatchErrors;
  problems: string[];
  seconds: number;
}

/** Label propagation: every keypoint of each target from the k nearest labeled images. */
export interface PropagatePayload extends DescriptorJobSettings {
  labeled: JobLabeledImage[];
  targets: JobImage[];
  k: number;
}

export interface PropagateResult {
  predictions: { imageId: number; points: ({ x: number; y: number; score: number } | null)[] }[];
  problems: string[];
}

/** A prediction run's matching maps: each image's points matched from its most similar labeled image. */
export interface PredictMatching extends DescriptorJobSettings {
  /** The training run's labeled images, points in its keypoint order. */
  references: JobLabeledImage[];
}

/** Per keypoint, the match from the best reference and its map (values as float16 bytes: compact over IPC, stored as they are). */
export interface ReferenceMatches {
  referenceImageId: number;
  keypoints: ({ point: Point; match: MatchResult; map: Omit<JobMap, 'values'> & { values: Uint8Array } } | null)[];
}
