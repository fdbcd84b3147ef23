// One interface over the pretraining methods: a fresh or resumed state, its step, its checkpoint.
// The pretrain job (jobs/kinds/pretrain.ts) and the few-shot bench drive either method through it.
import type { Tensor4D } from '@tensorflow/tfjs';
import {
  createDenseContrastState,
  denseContrastStep,
  disposeDenseContrastState,
  type DenseContrastConfig,
} from './denseContrast.js';
import { loadDenseContrastState, saveDenseContrastState } from './denseContrastCheckpoint.js';
import { chanceLevelLoss } from './infoNce.js';
import { createMocoState, disposeMocoState, mocoStep } from './moco.js';
import { loadMocoState, saveMocoState } from './mocoCheckpoint.js';
import type { MocoConfig } from './mocoConfig.js';
import {
  createProjectionState,
  disposeProjectionState,
  loadProjectionState,
  projectionStep,
  saveProjectionState,
} from './projection.js';
import type { ProjectionConfig } from './projectionConfig.js';

/** A method and its resolved, validated settings (resolveMocoConfig, resolveDenseContrastConfig). */
export type PretrainMethodConfig =
  | { method: 'moco'; config: MocoConfig }
  | { method: 'dense-contrastive'; config: DenseContrastConfig }
  /** featuresDir: the weights folder of the run whose backbone is projected (null: random init). */
  | { method: 'projection'; config: ProjectionConfig; featuresDir: string | null };

/** One step's outcome, whatever the method. */
export interface StepOutcome {
  step: number;
  loss: number;
  chanceLoss: number;
  /** What the loss curve records (loss, similarities, learning rate). */
  values: Record<string, number>;
}

export interface PretrainSession {
  /** The method's state: its counters (both methods keep them the same way). */
  readonly state: { step: number; totalSteps: number; readonly seed: number; readonly imageCount: number };
  readonly batchSize: number;
  readonly inputSize: number;
  step(images: Tensor4D): Promise<StepOutcome>;
  save(dir: string): Promise<void>;
  /** The loss of features that tell nothing apart, for a run's summary. */
  chanceLoss(last: StepOutcome | null): number;
  dispose(): void;
}

/** Where a session starts: a checkpoint folder (its config rules), or a fresh state. */
export type SessionStart = { resumeFrom: string } | { imageCount: number; seed: number; totalSteps: number };

interface CommonStepResult {
  step: number;
  loss: number;
  chanceLoss: number;
  positiveSimilarity: number;
  learningRate: number;
}

function outcome(r: CommonStepResult, extra: Record<string, number> = {}): StepOutcome {
  // The chance level rides along so a live chart can draw it (MoCo's grows as its queue fills).
  const values = {
    loss: r.loss,
    chanceLoss: r.chanceLoss,
    positiveSimilarity: r.positiveSimilarity,
    ...extra,
    learningRate: r.learningRate,
  };
  return { step: r.step, loss: r.loss, chanceLoss: r.chanceLoss, values };
}

export function openPretrainSession(m: PretrainMethodConfig, start: SessionStart): PretrainSession {
  if (m.method === 'dense-contrastive') {
    const state =
      'resumeFrom' in start
        ? loadDenseContrastState(start.resumeFrom, { backbone: m.config.backbone })
        : createDenseContrastState({ config: m.config, ...start });
    return {
      state,
      batchSize: state.config.batchSize,
      inputSize: state.config.inputSize,
      step: async (images) => {
        const r = await denseContrastStep(state, images);
        return outcome(r, { negativeSimilarity: r.negativeSimilarity });
      },
      save: (dir) => saveDenseContrastState(state, dir),
      chanceLoss: (last) => last?.chanceLoss ?? NaN,
      dispose: () => disposeDenseContrastState(state),
    };
  }
  if (m.method === 'projection') {
    const state =
      'resumeFrom' in start
        ? loadProjectionState(start.resumeFrom)
        : createProjectionState({ config: m.config, featuresDir: m.featuresDir, ...start });
    return {
      state,
      batchSize: state.config.batchSize,
      inputSize: state.config.inputSize,
      step: async (images) => outcome(await projectionStep(state, images)),
      save: (dir) => saveProjectionState(state, dir),
      chanceLoss: (last) => last?.chanceLoss ?? NaN,
      dispose: () => disposeProjectionState(state),
    };
  }
  const state =
    'resumeFrom' in start
      ? loadMocoState(start.resumeFrom, { backbone: m.config.backbone })
      : createMocoState({ config: m.config, ...start });
  return {
    state,
    batchSize: state.config.batchSize,
    inputSize: state.config.inputSize,
    step: async (images) => outcome(await mocoStep(state, images)),
    save: (dir) => saveMocoState(state, dir),
    chanceLoss: () => chanceLevelLoss(state.queue.size),
    dispose: () => disposeMocoState(state),
  };
}
