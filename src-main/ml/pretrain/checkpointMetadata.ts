// What every pretraining checkpoint carries besides its weights: the method that wrote it, the
// version of its state layout, the run's config, seed, image count, schedule horizon and step.
// Reading it first tells which state to build; the weights are then loaded into that state
// (loadWeightsInto checks every name and shape).
import { readWeights, WeightsError } from '../weights.js';

export interface CheckpointMetadata<Config> {
  method: string;
  stateVersion: number;
  config: Config;
  seed: number;
  imageCount: number;
  totalSteps: number;
  step: number;
}

/** The metadata a method writes with its weights, from its state (the reader's twin). */
export function checkpointMetadata<Config>(
  method: string,
  stateVersion: number,
  state: { config: Config; seed: number; imageCount: number; totalSteps: number; step: number },
): CheckpointMetadata<Config> {
  const { config, seed, imageCount, totalSteps, step } = state;
  return { method, stateVersion, config, seed, imageCount, totalSteps, step };
}

/**
 * The metadata of the checkpoint in `dir`, or a WeightsError when it was written by another
 * method (`label` names this one in messages) or by an unknown version of its state layout.
 */
export function readCheckpointMetadata<Meta extends CheckpointMetadata<unknown>>(
  dir: string,
  method: string,
  label: string,
  stateVersion: number,
): Meta {
  const { tensors, metadata } = readWeights(dir);
  for (const t of tensors.values()) t.dispose();
  const meta = metadata as Partial<Meta>;
  if (meta.method !== method) {
    throw new WeightsError(
      `${dir} is not a ${label} checkpoint (method "${String(meta.method ?? 'none')}"): it cannot resume a ${label} run`,
    );
  }
  if (
    meta.stateVersion !== stateVersion ||
    !meta.config ||
    typeof meta.step !== 'number' ||
    typeof meta.seed !== 'number' ||
    typeof meta.imageCount !== 'number' ||
    typeof meta.totalSteps !== 'number'
  ) {
    throw new WeightsError(
      `${dir} holds a ${label} checkpoint of an unknown version (${String(meta.stateVersion)}); expected version ${stateVersion}`,
    );
  }
  return meta as Meta;
}
