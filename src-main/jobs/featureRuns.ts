// Which network describes images for matching, from a run id: a pretraining run's backbone (MoCo,
// dense contrastive), a projection run's projected hypercolumn, a training run's fine-tuned
// backbone, or 'random' (a seeded random-init ResNet-18, the baseline). Runs without a backbone
// (predictions, evaluations, runs that never wrote weights) are refused with a message saying why.
import { statSync } from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { RunRecord } from '../../src-shared/domain.js';
import type { BackboneConfig } from '../ml/backbones/index.js';
import { PAPER_HYPERCOLUMN } from '../ml/hypercolumn.js';
import type { ProjectStore } from '../store/projectStore.js';
import { FEATURE_STAGES } from './kinds/landmarkModel.js';
import { aRunOfKind } from './runNames.js';

/** Paper 001 Sec. 4.1: 96 x 96 input, descriptors on a 48 x 48 grid. */
export const DESCRIPTOR_INPUT_SIZE = 96;
/** The stages a dense contrastive run and the heatmap head train (deeper ones stay random). */
const TRAINED_RESNET_STAGES = ['conv2_x', 'conv3_x'];

export interface DescriptorSourceSpec {
  /** The features run; null for random init. */
  runId: number | null;
  /** Absolute weights folder; null for random init. */
  weightsDir: string | null;
  /** 'projection': the folder is a projection run's checkpoint (backbone and w). */
  kind: 'backbone' | 'projection';
  /** Used where the folder names no architecture (random init). */
  backbone: BackboneConfig;
  stages: string[];
  inputSize: number;
  /** Input pixels per descriptor grid cell (DescriptorNetwork.gridStride). */
  gridStride: number;
  seed: number;
  /** Names these features for the descriptor cache; changes when the weights are rewritten. */
  cacheKey: string;
}

/** The random-init baseline: a seeded ResNet-18's conv2_x..conv5_x hypercolumn. */
export function randomFeatures(seed = 1): DescriptorSourceSpec {
  return {
    runId: null,
    weightsDir: null,
    kind: 'backbone',
    backbone: { arch: 'resnet18' },
    stages: [...PAPER_HYPERCOLUMN.stages],
    inputSize: DESCRIPTOR_INPUT_SIZE,
    gridStride: 2,
    seed,
    cacheKey: `random-resnet18-seed${seed}`,
  };
}

function stagesOf(run: RunRecord): string[] {
  const c = run.config;
  if (run.kind === 'pretrain' && run.method === 'dense-contrastive') {
    const stages = (c.denseContrastive as { hypercolumnStages?: string[] } | undefined)?.hypercolumnStages;
    return stages ?? TRAINED_RESNET_STAGES;
  }
  if (c.backbone === 'smallnet') return [...FEATURE_STAGES.smallnet.paper];
  if (run.kind === 'train' && run.method === 'heatmap') return TRAINED_RESNET_STAGES;
  return [...PAPER_HYPERCOLUMN.stages];
}

/**
 * A training run describes images at its own input size: its backbone learned the landmarks
 * there. On demo frames (5 labels) label propagation with a heatmap run's descriptors misses by
 * 125 px at its 256 px, 175 px at 128 and 215 px at 96 (mean shape 188; bench/README, Matching).
 * The heatmap head's grid is its heatmaps' (stride 4, conv2_x's own): as good as stride 2 there
 * (124 px), a quarter of the cells, and what its prediction runs get from the head's pass for free.
 */
function gridOf(run: RunRecord): { inputSize: number; gridStride: number } {
  const size = run.config.inputSize;
  if (run.kind !== 'train' || typeof size !== 'number') return { inputSize: DESCRIPTOR_INPUT_SIZE, gridStride: 2 };
  return { inputSize: size, gridStride: run.method === 'heatmap' ? 4 : 2 };
}

/** The features of `features` ('random' or a run id), or an ApiError saying why the run has none. */
export function featureSourceOf(store: ProjectStore, features: number | 'random'): DescriptorSourceSpec {
  if (features === 'random') return randomFeatures();
  const run = store.runs.get(features);
  if (!run) throw new ApiError('not_found', `No run ${features} in this project: features are 'random' or a run's id.`);
  if (run.kind !== 'pretrain' && run.kind !== 'train') {
    throw new ApiError(
      'invalid',
      `Run ${features} is ${aRunOfKind(run.kind)}: it has no backbone to describe images with (use a pretraining or training run, or 'random').`,
    );
  }
  if (run.checkpointPath === null || (run.kind === 'train' && run.status !== 'done')) {
    throw new ApiError(
      'invalid',
      `Run ${features} has no backbone yet (it is ${run.status} and wrote no ${run.kind === 'train' ? 'model' : 'checkpoint'}): wait for it, or use another run.`,
    );
  }
  const weightsDir = path.join(store.modelsDir, run.checkpointPath);
  let written: number;
  try {
    written = statSync(path.join(weightsDir, 'model.json')).mtimeMs;
  } catch {
    throw new ApiError(
      'invalid',
      `Run ${features}'s weights (models/${run.checkpointPath}) are missing: it has no backbone to describe images with.`,
    );
  }
  const projection = run.kind === 'pretrain' && run.method === 'projection';
  const projectionConfig = run.config.projection as { stages: string[]; inputSize: number } | undefined;
  const arch = typeof run.config.backbone === 'string' ? run.config.backbone : 'resnet18';
  const { inputSize, gridStride } =
    projection && projectionConfig ? { inputSize: projectionConfig.inputSize, gridStride: 2 } : gridOf(run);
  return {
    runId: run.id,
    weightsDir,
    kind: projection ? 'projection' : 'backbone',
    backbone: arch === 'resnet50' ? { arch: 'resnet50' } : { arch: 'resnet18' },
    stages: projection && projectionConfig ? projectionConfig.stages : stagesOf(run),
    inputSize,
    gridStride,
    seed: 1,
    cacheKey: `run${run.id}-${run.checkpointPath}-${written}-${inputSize}px-stride${gridStride}`,
  };
}
