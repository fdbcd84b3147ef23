/**
 * A backbone as an ordered list of stages: runs them in turn, returns the requested taps, stops
 * after the deepest requested one, and runs frozen stages in inference mode. Shared by ResNet
 * and SmallNet so the fine-tuning and tap rules live in one place.
 */
import { tf } from '../engine.js';
import type { Tensor4D, Variable } from '@tensorflow/tfjs';
import type { Backbone, BackboneConfig, FineTune, ForwardOptions, StageInfo, Taps } from './index.js';
import type { ParameterSet } from './layers.js';

export interface Stage {
  info: StageInfo;
  /**
   * training: batch statistics + moving-average updates in this stage's batch norms, computed
   * per each of `groups` consecutive sub-batches (ForwardOptions.batchNormGroups).
   */
  run(x: Tensor4D, training: boolean, groups: number): Tensor4D;
}

/** Stage names a fine-tuning mode trains. */
export function trainedStages(stages: readonly StageInfo[], fineTune: FineTune): Set<string> {
  if (fineTune === 'none') return new Set();
  if (fineTune === 'last') return new Set([stages[stages.length - 1]!.name]);
  return new Set(stages.map((s) => s.name));
}

export function stagedBackbone(config: BackboneConfig, stages: readonly Stage[], params: ParameterSet): Backbone {
  const infos = stages.map((s) => s.info);
  const names = infos.map((s) => s.name);
  const weights = new Map<string, Variable>([...params.params].map(([name, p]) => [name, p.variable]));

  return {
    config,
    stages: infos,
    weights,
    parameterNames: [...params.params].filter(([, p]) => p.trainable).map(([name]) => name),
    apply(images: Tensor4D, options: ForwardOptions): Taps {
      if (images.rank !== 4 || images.shape[3] !== 3) {
        throw new Error(`backbone ${config.arch} expects [B, H, W, 3] images, got shape [${images.shape}]`);
      }
      const wanted = options.stages ?? names;
      for (const s of wanted) {
        if (!names.includes(s))
          throw new Error(`backbone ${config.arch} has no stage "${s}" (stages: ${names.join(', ')})`);
      }
      const last = Math.max(...wanted.map((s) => names.indexOf(s)));
      const training = options.training ? trainedStages(infos, options.fineTune ?? 'all') : new Set<string>();
      const groups = options.batchNormGroups ?? 1;
      if (!Number.isInteger(groups) || groups < 1 || groups > images.shape[0]) {
        throw new Error(
          `backbone ${config.arch}: batchNormGroups must be an integer from 1 to the batch size ${images.shape[0]}; got ${groups}`,
        );
      }
      return tf.tidy(() => {
        const taps: Taps = {};
        let x = images;
        for (let i = 0; i <= last; i++) {
          const stage = stages[i]!;
          x = stage.run(x, training.has(stage.info.name), groups);
          if (wanted.includes(stage.info.name)) taps[stage.info.name] = x;
        }
        return taps;
      });
    },
    trainableVariables(fineTune: FineTune = 'all'): Variable[] {
      const trained = trainedStages(infos, fineTune);
      return [...params.params.values()].filter((p) => p.trainable && trained.has(p.stage)).map((p) => p.variable);
    },
    dispose(): void {
      params.dispose();
      weights.clear();
    },
  };
}
