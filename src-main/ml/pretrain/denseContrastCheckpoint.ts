// Checkpoints of a dense contrastive run: the backbone (under `backbone.`, where `train --features`
// finds it; stages deeper than the trained one keep their initialisation), the projection head,
// the SGD momentum buffers, and the counters and seed that fix every later random draw, so a
// resumed run continues with the losses it would have had. Written by weights.ts (temp folder
// renamed into place): a kill mid-save leaves the previous checkpoint whole.
import type { Variable } from '@tensorflow/tfjs';
import type { BackboneConfig } from '../backbones/index.js';
import { loadWeightsInto, saveWeights, WeightsError } from '../weights.js';
import { checkpointMetadata, readCheckpointMetadata, type CheckpointMetadata } from './checkpointMetadata.js';
import {
  createDenseContrastState,
  DENSE_CONTRAST_DEFAULTS,
  disposeDenseContrastState,
  type DenseContrastConfig,
  type DenseContrastState,
} from './denseContrast.js';
import type { BackboneFactory } from './moco.js';

const METHOD = 'dense-contrastive';
const STATE_VERSION = 1;

type DenseContrastCheckpointMetadata = CheckpointMetadata<DenseContrastConfig>;

function stateVariables(state: DenseContrastState): Map<string, Variable> {
  return new Map<string, Variable>([
    ...[...state.backbone.weights].map(([n, v]) => [`backbone.${n}`, v] as const),
    ...[...state.head.weights].map(([n, v]) => [`head.${n}`, v] as const),
    ...[...state.optimizer.buffers].map(([n, v]) => [`momentum.${n}`, v] as const),
  ]);
}

/** Writes the whole state to `dir` atomically, replacing an older checkpoint there. */
export async function saveDenseContrastState(state: DenseContrastState, dir: string): Promise<void> {
  const metadata: DenseContrastCheckpointMetadata = checkpointMetadata(METHOD, STATE_VERSION, state);
  await saveWeights(dir, stateVariables(state), metadata as unknown as Record<string, unknown>);
}

export interface LoadDenseContrastStateOptions {
  /** The backbone the caller expects; a checkpoint of another one is refused. */
  backbone?: BackboneConfig;
  backboneFactory?: BackboneFactory;
}

/** Rebuilds a run's state from `saveDenseContrastState`'s folder; the caller disposes it. */
export function loadDenseContrastState(dir: string, options: LoadDenseContrastStateOptions = {}): DenseContrastState {
  const meta = readCheckpointMetadata<DenseContrastCheckpointMetadata>(dir, METHOD, 'dense contrastive', STATE_VERSION);
  // Settings added since a checkpoint was written take their defaults (what that run used).
  const config = { ...DENSE_CONTRAST_DEFAULTS, ...meta.config };
  if (options.backbone && options.backbone.arch !== config.backbone.arch) {
    throw new WeightsError(
      `${dir} is a ${config.backbone.arch} dense contrastive run; it cannot be resumed as ${options.backbone.arch}`,
    );
  }
  const state = createDenseContrastState({
    config,
    imageCount: meta.imageCount,
    seed: meta.seed,
    totalSteps: meta.totalSteps,
    backboneFactory: options.backboneFactory,
  });
  try {
    loadWeightsInto(dir, stateVariables(state));
    state.step = meta.step;
    return state;
  } catch (err) {
    disposeDenseContrastState(state);
    throw err;
  }
}
