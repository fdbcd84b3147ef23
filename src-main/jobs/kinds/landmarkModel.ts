// A trained few-shot landmark model as files: building its backbone (random or from a
// pretraining run's checkpoint), and saving / loading the whole model (backbone + head) in one
// weights folder (ml/weights.ts: atomic, checksummed) whose metadata says how to rebuild it.
import type { ResizeMode } from '../../../src-shared/geometry.js';
import { createBackbone, type Backbone, type BackboneConfig } from '../../ml/backbones/index.js';
import type { DistanceBand, DistancePrior } from '../../ml/heads/distancePrior.js';
import { HeatmapHead, type HeatmapHeadSpec } from '../../ml/heads/heatmapHead.js';
import { PaperHead, type PaperHeadSpec } from '../../ml/heads/paperHead.js';
import { PAPER_HYPERCOLUMN } from '../../ml/hypercolumn.js';
import type { LandmarkPredictor } from '../../ml/predict.js';
import { HeatmapLandmarkModel } from '../../ml/train/trainHeatmapHead.js';
import { PaperLandmarkModel } from '../../ml/train/trainPaperHead.js';
import { assignWeights, readWeights, saveWeights, WeightsError } from '../../ml/weights.js';
import type { Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import { tf } from '../../ml/engine.js';
import { normalizeImageNet } from '../../ml/image/normalize.js';
import { loadCheckpointBackbone } from '../../ml/backbones/checkpointBackbone.js';
import type { FeatureSource, TrainedModelSpec } from '../jobTypes.js';

const MODEL_FORMAT = 'landmark-model/1';

/**
 * Which backbone stages each head reads, per architecture. ResNets: the heatmap head stops at
 * conv3_x (stride 8, HEATMAP_HEAD_DEFAULTS), the paper head stacks conv2_x..conv5_x (paper 000
 * Sec. 4.1). SmallNet (paper 004) has stride-2 stages conv1..conv6, conv6 being its K-landmark
 * output: the heads use the feature stages below it.
 */
export const FEATURE_STAGES: Record<
  TrainedModelSpec['backbone'],
  { heatmap: string; heatmapStride: 2 | 4; paper: readonly string[] }
> = {
  resnet18: { heatmap: 'conv3_x', heatmapStride: 4, paper: PAPER_HYPERCOLUMN.stages },
  resnet50: { heatmap: 'conv3_x', heatmapStride: 4, paper: PAPER_HYPERCOLUMN.stages },
  smallnet: { heatmap: 'conv5', heatmapStride: 2, paper: ['conv2', 'conv3', 'conv4', 'conv5'] },
};

/** Letterbox keeps the aspect ratio: `--size` is the longer side for both heads. */
export const MODEL_RESIZE_MODE: ResizeMode = 'letterbox';

interface ModelMetadata {
  format: typeof MODEL_FORMAT;
  spec: TrainedModelSpec;
  backbone: BackboneConfig;
  heatmapHead?: HeatmapHeadSpec;
  /** The heatmap head's distance bands (absent in models saved before them: plain argmax). */
  distancePrior?: DistancePrior;
  paperHead?: PaperHeadSpec;
}

function defaultBackboneConfig(spec: TrainedModelSpec): BackboneConfig {
  // SmallNet's last stage has one channel per landmark; the heads do not read it.
  return spec.backbone === 'smallnet' ? { arch: 'smallnet', outChannels: spec.keypointCount } : { arch: spec.backbone };
}

/** The network the head is trained on: random init (seeded), or a pretraining run's backbone. */
export function buildBackbone(spec: TrainedModelSpec, features: FeatureSource): Backbone {
  if (features.kind === 'random') return createBackbone(defaultBackboneConfig(spec), { seed: spec.seed });
  return loadCheckpointBackbone(
    features.checkpointDir,
    defaultBackboneConfig(spec),
    spec.seed,
    `pretraining run ${features.runId}`,
    spec.backbone,
  );
}

function prefixed(weights: ReadonlyMap<string, Variable>, prefix: string): Map<string, Variable> {
  return new Map([...weights].map(([n, v]) => [prefix + n, v] as const));
}

export type TrainedModel = (HeatmapLandmarkModel | PaperLandmarkModel) & LandmarkPredictor;

/** Writes backbone and head to `dir` (replacing a model there). */
export async function saveLandmarkModel(dir: string, spec: TrainedModelSpec, model: TrainedModel): Promise<void> {
  if (model instanceof HeatmapLandmarkModel) {
    // The head's weights include its backbone's, prefixed `backbone.`.
    const metadata: ModelMetadata = {
      format: MODEL_FORMAT,
      spec,
      backbone: model.head.backbone.config,
      heatmapHead: model.head.spec,
      ...(model.distancePrior && { distancePrior: model.distancePrior }),
    };
    await saveWeights(dir, model.head.weights, { ...metadata });
  } else {
    const weights = new Map([
      ...prefixed(model.backbone.weights, 'backbone.'),
      ...prefixed(model.head.weights, 'head.'),
    ]);
    const metadata: ModelMetadata = {
      format: MODEL_FORMAT,
      spec,
      backbone: model.backbone.config,
      paperHead: model.head.spec,
    };
    await saveWeights(dir, weights, { ...metadata });
  }
}

export interface LoadedModel {
  spec: TrainedModelSpec;
  predictor: LandmarkPredictor;
  /** The trained backbone (disposed with the model): the run's own features, e.g. for matching maps. */
  backbone: Backbone;
  /**
   * Per image of a network-input batch [B, S, S, 3] (RGB in [0, 1], not disposed): the global
   * average pool of the backbone stage the head reads (the deepest one for the paper head).
   */
  pooledFeatures(images: Tensor4D): Float32Array[];
  dispose(): void;
}

/** Global average pool of `stage` of `backbone` over each image of the batch. */
function poolStage(backbone: Backbone, stage: string, images: Tensor4D): Float32Array[] {
  const pooled = tf.tidy(() => {
    const taps = backbone.apply(normalizeImageNet(images), { training: false, stages: [stage] });
    return tf.mean(taps[stage]!, [1, 2]);
  });
  try {
    const [batch, channels] = pooled.shape as [number, number];
    const values = pooled.dataSync() as Float32Array;
    return Array.from({ length: batch }, (_, b) => values.slice(b * channels, (b + 1) * channels));
  } finally {
    pooled.dispose();
  }
}

/** Rebuilds a model saved by saveLandmarkModel; a damaged or foreign folder is a WeightsError. */
export function loadLandmarkModel(dir: string): LoadedModel {
  const { tensors, metadata } = readWeights(dir);
  try {
    return buildLoadedModel(dir, tensors, metadata as Partial<ModelMetadata>);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

function buildLoadedModel(
  dir: string,
  tensors: ReadonlyMap<string, Tensor>,
  meta: Partial<ModelMetadata>,
): LoadedModel {
  if (meta.format !== MODEL_FORMAT || !meta.spec || !meta.backbone) {
    throw new WeightsError(
      `${dir} is not a trained landmark model (format "${String(meta.format ?? 'none')}", expected "${MODEL_FORMAT}")`,
    );
  }
  // Every weight comes from the file (assignWeights checks): no random draws to overwrite.
  const backbone = createBackbone(meta.backbone, { seed: meta.spec.seed, randomInit: false });
  try {
    if (meta.heatmapHead) {
      const head = new HeatmapHead(backbone, meta.heatmapHead, meta.spec.seed);
      const model = new HeatmapLandmarkModel(
        head,
        meta.spec.inputSize,
        meta.distancePrior ? checkedDistancePrior(dir, meta.distancePrior, meta.heatmapHead.keypointCount) : null,
      );
      try {
        assignWeights(dir, head.weights, tensors);
      } catch (err) {
        head.dispose();
        throw err;
      }
      return {
        spec: meta.spec,
        predictor: model,
        backbone,
        pooledFeatures: (images) => poolStage(backbone, head.spec.stage, images),
        dispose: () => (head.dispose(), backbone.dispose()),
      };
    }
    if (meta.paperHead) {
      const head = new PaperHead(meta.paperHead, meta.spec.seed);
      try {
        assignWeights(
          dir,
          new Map([...prefixed(backbone.weights, 'backbone.'), ...prefixed(head.weights, 'head.')]),
          tensors,
        );
      } catch (err) {
        head.dispose();
        throw err;
      }
      const model = new PaperLandmarkModel(backbone, head, MODEL_RESIZE_MODE);
      const deepest = head.spec.hypercolumn.stages.at(-1)!;
      return {
        spec: meta.spec,
        predictor: model,
        backbone,
        pooledFeatures: (images) => poolStage(backbone, deepest, images),
        dispose: () => (head.dispose(), backbone.dispose()),
      };
    }
    throw new WeightsError(`${dir} names no head in its metadata`);
  } catch (err) {
    backbone.dispose();
    throw err;
  }
}

/** The saved bands, each two distinct landmarks of the model's and a finite range. */
function checkedDistancePrior(dir: string, prior: Partial<DistancePrior>, keypointCount: number): DistancePrior {
  const isIndex = (v: unknown): v is number =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) < keypointCount;
  const isBand = (band: unknown): band is DistanceBand => {
    const { a, b, min, max } = (band ?? {}) as Record<string, unknown>;
    return (
      isIndex(a) &&
      isIndex(b) &&
      a !== b &&
      typeof min === 'number' &&
      typeof max === 'number' &&
      Number.isFinite(max) &&
      min >= 0 &&
      min <= max
    );
  };
  if (!Array.isArray(prior.pairs) || !prior.pairs.every(isBand))
    throw new WeightsError(`${dir} has a damaged distance prior in its metadata`);
  return { pairs: prior.pairs.map(({ a, b, min, max }) => ({ a, b, min, max })) };
}
