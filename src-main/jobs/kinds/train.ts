// The 'train' job (in the worker): builds the backbone, trains the chosen few-shot head on the
// labeled images, streams step, loss, images/s and ETA, and writes the model to its folder.
import type { Backbone } from '../../ml/backbones/index.js';
import type { LabeledItem } from '../../ml/train/labeledExamples.js';
import { heatmapAugmentation, type HeatmapHeadConfig, type TrainControl } from '../../ml/train/config.js';
import { trainHeatmapHead, type HeatmapHeadTrainingInput } from '../../ml/train/trainHeatmapHead.js';
import { trainPaperHead } from '../../ml/train/trainPaperHead.js';
import type { JobLabeledImage, TrainPayload, TrainResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import { buildBackbone, FEATURE_STAGES, MODEL_RESIZE_MODE, saveLandmarkModel } from './landmarkModel.js';

const labeledItems = (items: readonly JobLabeledImage[]): LabeledItem[] =>
  items.map((item) => ({ id: item.id, path: item.path, crop: item.crop, points: item.points }));

/** What a run's heatmap head is trained from: its prepared payload less where the model goes. */
export type HeatmapTraining = Pick<
  TrainPayload,
  'spec' | 'items' | 'flipPairs' | 'budgetSeconds' | 'augmentation' | 'cacheDir'
>;

/**
 * The heatmap head's configuration and training input of a run. Exported so that
 * bench:regressor's real-data mode trains exactly what `train` would, not a bench recipe.
 */
export function heatmapTrainingConfig(
  training: Pick<HeatmapTraining, 'spec' | 'budgetSeconds' | 'augmentation'>,
): Partial<HeatmapHeadConfig> {
  const { spec, budgetSeconds, augmentation } = training;
  const stages = FEATURE_STAGES[spec.backbone];
  return {
    inputSize: spec.inputSize,
    fineTune: spec.fineTune,
    steps: spec.steps,
    ...(budgetSeconds === null ? {} : { budgetSeconds }),
    backboneStage: stages.heatmap,
    outputStride: stages.heatmapStride,
    ...(augmentation ? { augmentation: heatmapAugmentation(augmentation) } : {}),
  };
}

export function heatmapTrainingInput(training: HeatmapTraining, backbone: Backbone): HeatmapHeadTrainingInput {
  return {
    backbone,
    items: labeledItems(training.items),
    keypointCount: training.spec.keypointCount,
    flipPairs: training.flipPairs,
    config: heatmapTrainingConfig(training),
    cacheDir: training.cacheDir,
    seed: training.spec.seed,
  };
}

export async function trainJob(payload: unknown, ctx: JobContext): Promise<TrainResult> {
  const training = payload as TrainPayload;
  const { spec, features, items, budgetSeconds, modelDir, cacheDir } = training;
  const budget = budgetSeconds === null ? {} : { budgetSeconds };
  ctx.progress({ step: 0, totalSteps: spec.steps, message: 'loading images' });
  const control: TrainControl = {
    signal: ctx.signal,
    onProgress: (p) => {
      ctx.progress({
        step: p.step,
        totalSteps: p.totalSteps,
        loss: p.loss,
        imagesPerSec: p.imagesPerSecond,
        etaSec: p.etaSeconds,
      });
      ctx.metric(p.step, { loss: p.loss, learningRate: p.learningRate });
    },
  };
  const backbone = buildBackbone(spec, features);
  try {
    const { model, report } =
      spec.head === 'heatmap'
        ? await trainHeatmapHead(heatmapTrainingInput(training, backbone), control)
        : await trainPaperHead(
            {
              backbone,
              items: labeledItems(items),
              keypointCount: spec.keypointCount,
              // Paper 000: a 48x48 grid for 96x96 input, i.e. half the input side.
              config: {
                inputSize: spec.inputSize,
                featureGridSize: Math.round(spec.inputSize / 2),
                steps: spec.steps,
                ...budget,
              },
              resizeMode: MODEL_RESIZE_MODE,
              stages: FEATURE_STAGES[spec.backbone].paper,
              cacheDir,
              seed: spec.seed,
            },
            control,
          );
    const steps = report.losses.length;
    try {
      ctx.progress({ step: steps, totalSteps: steps, message: 'saving the model' });
      await saveLandmarkModel(modelDir, spec, model);
    } finally {
      model.dispose();
    }
    return {
      examples: report.examples,
      problems: report.problems,
      unlabeledKeypoints: report.unlabeledKeypoints,
      steps,
      seconds: report.seconds,
      imagesPerSecond: report.imagesPerSecond,
      finalLoss: report.losses.at(-1) ?? null,
    };
  } finally {
    backbone.dispose();
  }
}
