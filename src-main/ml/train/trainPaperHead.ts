// Trains the paper regressor (heads/paperHead.ts) on a frozen backbone's hypercolumn, as paper
// 000 does (appendix D): Adam, cosine schedule, weight decay, TPS-warped labeled images in the
// few-label regime. Without augmentation the frozen features are computed once and reused.
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { MaybePoint, ResizeMode } from '../../../src-shared/geometry.js';
import { createRng, type Rng } from '../../../src-shared/random.js';
import { randomTps, DEFAULT_TPS } from '../augment/tps.js';
import type { Backbone, Taps } from '../backbones/index.js';
import { tf } from '../engine.js';
import { PaperHead, stageChannelTable } from '../heads/paperHead.js';
import { hypercolumnConfigFor, PAPER_HYPERCOLUMN, type HypercolumnConfig } from '../hypercolumn.js';
import { normalizeImageNet, pixelsToTensor } from '../image/normalize.js';
import type { LandmarkPredictor } from '../predict.js';
import { PAPER_HEAD_DEFAULTS, type PaperHeadConfig, type TrainControl } from './config.js';
import { loadLabeledExamples, type LabeledExample, type LabeledItem, type LabeledSet } from './labeledExamples.js';
import { runTrainLoop, type TrainLoopResult } from './trainLoop.js';
import { batchSchedule, pointTensors } from './batches.js';

export interface PaperHeadTrainingInput {
  /** Frozen feature extractor (random init or a pretrained run); not modified, not disposed. */
  backbone: Backbone;
  items: readonly LabeledItem[];
  keypointCount: number;
  config?: Partial<PaperHeadConfig>;
  /** Aligned crops are stretched to the square input, as in the papers. */
  resizeMode?: ResizeMode;
  /** Hypercolumn stages (default paper 000's conv2_x..conv5_x). */
  stages?: readonly string[];
  cacheDir?: string | null;
  seed?: number;
}

export interface TrainingReport extends TrainLoopResult {
  /** Items or points left out, with the reason. */
  problems: string[];
  /** Keypoints without any visible label (their predictions are unreliable). */
  unlabeledKeypoints: number[];
  examples: number;
}

/** A training loop's result with what the labeled set left out. */
export function trainingReport(result: TrainLoopResult, set: LabeledSet): TrainingReport {
  return {
    ...result,
    problems: set.problems,
    unlabeledKeypoints: set.unlabeledKeypoints,
    examples: set.examples.length,
  };
}

/** A trained paper head with its (frozen, borrowed) backbone: ready to predict. */
export class PaperLandmarkModel implements LandmarkPredictor {
  readonly keypointCount: number;
  readonly inputSize: number;

  constructor(
    readonly backbone: Backbone,
    readonly head: PaperHead,
    readonly resizeMode: ResizeMode,
  ) {
    this.keypointCount = head.spec.keypointCount;
    this.inputSize = head.spec.inputSize;
  }

  taps(images: Tensor4D): Taps {
    return tf.tidy(() =>
      this.backbone.apply(normalizeImageNet(images), { training: false, stages: this.head.spec.hypercolumn.stages }),
    );
  }

  predictInput(images: Tensor4D): { coords: Float32Array; confidence: Float32Array } {
    const [coords, confidence] = tf.tidy(() => {
      const out = this.head.forward(this.taps(images));
      return [out.coords, out.confidence];
    });
    try {
      return { coords: coords.dataSync() as Float32Array, confidence: confidence.dataSync() as Float32Array };
    } finally {
      coords.dispose();
      confidence.dispose();
    }
  }

  /** Disposes the head only: the backbone belongs to the caller. */
  dispose(): void {
    this.head.dispose();
  }
}

interface PaperBatch {
  taps: Taps;
  targets: Tensor3D;
  mask: Tensor2D;
  size: number;
}

function disposeTaps(taps: Taps): void {
  for (const t of Object.values(taps)) t.dispose();
}

/** Taps of the unaugmented examples, computed in chunks and concatenated. */
function tapsOfExamples(model: PaperLandmarkModel, examples: readonly LabeledExample[], chunk = 16): Taps {
  const parts: Taps[] = [];
  for (let i = 0; i < examples.length; i += chunk) {
    const slice = examples.slice(i, i + chunk);
    parts.push(
      tf.tidy(() =>
        model.taps(
          pixelsToTensor(
            slice.map((e) => e.pixels),
            model.inputSize,
            model.inputSize,
          ),
        ),
      ),
    );
  }
  const out: Taps = {};
  for (const name of Object.keys(parts[0]!))
    out[name] = tf.concat(
      parts.map((p) => p[name]!),
      0,
    ) as Tensor4D;
  parts.forEach(disposeTaps);
  return out;
}

export async function trainPaperHead(
  input: PaperHeadTrainingInput,
  control: TrainControl = {},
): Promise<{ model: PaperLandmarkModel; report: TrainingReport }> {
  const config: PaperHeadConfig = { ...PAPER_HEAD_DEFAULTS, ...input.config };
  const resizeMode = input.resizeMode ?? 'stretch';
  const set = await loadLabeledExamples(input.items, {
    inputSize: config.inputSize,
    mode: resizeMode,
    keypointCount: input.keypointCount,
    cacheDir: input.cacheDir,
  });
  const hypercolumn: HypercolumnConfig = {
    ...hypercolumnConfigFor([config.inputSize, config.inputSize], input.stages ?? PAPER_HYPERCOLUMN.stages),
    gridSize: [config.featureGridSize, config.featureGridSize],
  };
  const head = new PaperHead(
    {
      keypointCount: input.keypointCount,
      intermediateHeatmaps: config.intermediateHeatmaps,
      hypercolumn,
      stageChannels: stageChannelTable(input.backbone.stages),
      inputSize: config.inputSize,
      softargmaxMultiplier: config.softargmaxMultiplier,
    },
    input.seed ?? 1,
  );
  const model = new PaperLandmarkModel(input.backbone, head, resizeMode);
  const rng: Rng = createRng(input.seed ?? 1);
  const examples = set.examples;
  const allTaps = tapsOfExamples(model, examples);
  const cached: Taps | null = config.augmentation === 'none' ? allTaps : null;
  try {
    head.setFeatureStatistics(allTaps);
    if (!cached) disposeTaps(allTaps);
    const order = batchSchedule(examples.length, config.batchSize, rng);
    const result = await runTrainLoop<PaperBatch>(
      {
        optimizer: config,
        trainable: head.trainableVariables(),
        // Decay on the filters only: decaying the linear layer pulls every prediction towards
        // the image centre (0 in its normalised coordinates), away from the mean shape.
        decayed: head.filterVariables(),
        makeBatch: (step) => {
          const indices = order(step);
          const chosen = indices.map((i) => examples[i]!);
          return tf.tidy(() => {
            let points: MaybePoint[][] = chosen.map((e) => e.points);
            let taps: Taps;
            if (cached) {
              const index = tf.tensor1d(indices, 'int32');
              taps = Object.fromEntries(Object.entries(cached).map(([n, t]) => [n, tf.gather(t, index)]));
            } else {
              const images = pixelsToTensor(
                chosen.map((e) => e.pixels),
                config.inputSize,
                config.inputSize,
              );
              const warped = randomTps(images, points, rng, DEFAULT_TPS);
              points = warped.points;
              taps = model.taps(warped.images);
            }
            const { targets, mask } = pointTensors(
              points,
              chosen.map((e) => e.mask),
              config.inputSize,
            );
            return { taps, targets, mask, size: chosen.length };
          });
        },
        batchImages: (batch) => batch.size,
        loss: (batch) => head.loss(batch.taps, batch.targets, batch.mask),
        disposeBatch: (batch) => {
          disposeTaps(batch.taps);
          batch.targets.dispose();
          batch.mask.dispose();
        },
      },
      control,
    );
    return { model, report: trainingReport(result, set) };
  } catch (err) {
    head.dispose();
    throw err;
  } finally {
    if (cached) disposeTaps(cached);
  }
}
