// Checkpoints of a MoCo run: both encoders (batch-norm statistics included), the SGD momentum
// buffers, the queue with its pointer, and the counters and seed that fix every later random draw,
// so a run resumed after a crash or SIGKILL continues with the same losses it would have had.
// One weights folder written by weights.ts (temp folder renamed into place): a kill mid-save
// leaves the previous checkpoint whole.
import type { BackboneConfig } from '../backbones/index.js';
import { loadWeightsInto, saveWeights, WeightsError } from '../weights.js';
import { checkpointMetadata, readCheckpointMetadata, type CheckpointMetadata } from './checkpointMetadata.js';
import type { Variable } from '@tensorflow/tfjs';
import { createMocoState, disposeMocoState, mocoEpoch, type BackboneFactory, type MocoState } from './moco.js';
import type { MocoConfig } from './mocoConfig.js';

const METHOD = 'moco';
const STATE_VERSION = 1;

interface MocoCheckpointMetadata extends CheckpointMetadata<MocoConfig> {
  /** Informative (derived from step); shown by tools that list checkpoints. */
  epoch: number;
  queuePointer: number;
}

/** Every variable of the state under one name space: what the checkpoint file holds. */
function stateVariables(state: MocoState): Map<string, Variable> {
  return new Map<string, Variable>([
    ...[...state.query.weights].map(([n, v]) => [`query.${n}`, v] as const),
    ...[...state.key.weights].map(([n, v]) => [`key.${n}`, v] as const),
    ...[...state.optimizer.buffers].map(([n, v]) => [`momentum.${n}`, v] as const),
    ['queue', state.queue.keys],
  ]);
}

/** Writes the whole state to `dir` atomically, replacing an older checkpoint there. */
export async function saveMocoState(state: MocoState, dir: string): Promise<void> {
  const metadata: MocoCheckpointMetadata = {
    ...checkpointMetadata(METHOD, STATE_VERSION, state),
    epoch: mocoEpoch(state),
    queuePointer: state.queue.pointer,
  };
  await saveWeights(dir, stateVariables(state), metadata as unknown as Record<string, unknown>);
}

export interface LoadMocoStateOptions {
  /** The backbone the caller expects; a checkpoint of another one is refused. */
  backbone?: BackboneConfig;
  backboneFactory?: BackboneFactory;
}

function describeBackbone(b: BackboneConfig): string {
  return b.arch === 'smallnet' ? `smallnet(${b.outChannels})` : b.arch;
}

/** Rebuilds a run's state from `saveMocoState`'s folder; the caller disposes it. */
export function loadMocoState(dir: string, options: LoadMocoStateOptions = {}): MocoState {
  // The metadata says what to build; the file is read again by loadWeightsInto, which checks
  // every name and shape against the built state (a resume costs one extra read).
  const meta = readCheckpointMetadata<MocoCheckpointMetadata>(dir, METHOD, 'MoCo', STATE_VERSION);
  const config = meta.config;
  if (options.backbone && describeBackbone(options.backbone) !== describeBackbone(config.backbone)) {
    throw new WeightsError(
      `${dir} is a ${describeBackbone(config.backbone)} MoCo run; it cannot be resumed as ${describeBackbone(options.backbone)}`,
    );
  }
  const state = createMocoState({
    config,
    imageCount: meta.imageCount,
    seed: meta.seed,
    totalSteps: meta.totalSteps,
    backboneFactory: options.backboneFactory,
  });
  try {
    loadWeightsInto(dir, stateVariables(state));
    if (!Number.isInteger(meta.queuePointer) || meta.queuePointer < 0 || meta.queuePointer >= state.queue.size) {
      throw new WeightsError(`${dir}: queue pointer ${meta.queuePointer} is outside the queue of ${state.queue.size}`);
    }
    state.queue.pointer = meta.queuePointer;
    state.step = meta.step;
    return state;
  } catch (err) {
    disposeMocoState(state);
    throw err;
  }
}
