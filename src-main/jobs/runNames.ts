// How messages name a run kind ("Run 3 is an evaluation run").
import type { RunKind } from '../../src-shared/domain.js';

const NAMES: Record<RunKind, string> = {
  pretrain: 'a pretraining run',
  train: 'a training run',
  predict: 'a prediction run',
  evaluate: 'an evaluation run',
  features: 'a features run',
};

export const aRunOfKind = (kind: RunKind): string => NAMES[kind];
