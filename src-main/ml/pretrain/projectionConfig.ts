// Settings of the `projection` pretraining method (paper 001 Sec. 3.2): a linear map w (C x d)
// over the frozen hypercolumn of an earlier run, trained with the probabilistic equivariance loss
// of Eq. 3 (with Eq. 4's softmax of similarities over temperature tau) between an image and a
// thin-plate-spline warp of it, so that each location's projected descriptor picks out its own
// warped location among all locations.
import { DEFAULT_TPS, type TpsConfig } from '../augment/tps.js';
import { backboneStages, type BackboneConfig } from '../backbones/index.js';
import { PAPER_HYPERCOLUMN } from '../hypercolumn.js';

export interface ProjectionConfig {
  /** The backbone of the run whose hypercolumn is projected (its weights come from `featuresDir`). */
  backbone: BackboneConfig;
  /** Id of that run (null: a random-init backbone, seeded by `seed`). */
  featuresRunId: number | null;
  /** Hypercolumn stages, in order. */
  stages: string[];
  /** Paper 001 Sec. 4.1: 96 x 96 input, hypercolumn on a 48 x 48 grid. */
  inputSize: number;
  /** Paper 001 Tab. 1: d = 64, 128 or 256; 256 for faces (Tab. 2), the default. */
  dim: number;
  /**
   * Eq. 4's tau. The paper gives no value; 0.05 makes unit descriptors' softmax over 48 x 48
   * locations sharp enough to train (bench/README.md, "Matching").
   */
  temperature: number;
  batchSize: number;
  /** SGD with momentum; the paper gives none. 0.01: larger rates diverged on random images (projection.test.ts). */
  learningRate: number;
  sgdMomentum: number;
  /** Linear warm-up steps before the cosine decay (clamped to a tenth of the run). */
  warmupSteps: number;
  /** The warp between an image and its copy: DVE's warper, whose loss Eq. 3 is. */
  tps: TpsConfig;
}

export const PROJECTION_DEFAULTS: ProjectionConfig = {
  backbone: { arch: 'resnet18' },
  featuresRunId: null,
  stages: [...PAPER_HYPERCOLUMN.stages],
  inputSize: 96,
  dim: 256,
  temperature: 0.05,
  batchSize: 4,
  learningRate: 0.01,
  sgdMomentum: 0.9,
  warmupSteps: 20,
  tps: DEFAULT_TPS,
};

/** Paper 001 Tab. 1's projection widths. */
export const PROJECTION_DIMS = [64, 128, 256] as const;

/** Merges overrides into the defaults and rejects values training cannot work with. */
export function resolveProjectionConfig(overrides: Partial<ProjectionConfig>, imageCount: number): ProjectionConfig {
  const config: ProjectionConfig = { ...PROJECTION_DEFAULTS, ...overrides };
  for (const key of ['inputSize', 'batchSize', 'dim', 'warmupSteps'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < (key === 'warmupSteps' ? 0 : 1))
      throw new Error(`projection ${key} must be a positive integer; got ${config[key]}`);
  }
  if (config.inputSize < 16 || config.inputSize % 2 !== 0)
    throw new Error(`projection inputSize must be an even number of at least 16 pixels; got ${config.inputSize}`);
  if (!(config.temperature > 0)) throw new Error(`temperature must be positive; got ${config.temperature}`);
  if (!(config.learningRate > 0)) throw new Error(`learning rate must be positive; got ${config.learningRate}`);
  if (imageCount < config.batchSize)
    throw new Error(
      `batch size ${config.batchSize} is larger than the ${imageCount} images: use a batch of at most ${imageCount}`,
    );
  const names = backboneStages(config.backbone).map((s) => s.name);
  const missing = config.stages.find((s) => !names.includes(s));
  if (config.stages.length === 0 || missing !== undefined)
    throw new Error(
      `backbone ${config.backbone.arch} has no stage "${missing ?? '(none given)'}" (stages: ${names.join(', ')})`,
    );
  return config;
}
