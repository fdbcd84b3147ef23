// The 'train' job (in the worker): builds the backbone, trains the chosen few-shot head on the
// labeled images, streams step, loss, images/s and ETA, and writes the model to its folder.
import type { LabeledItem } from '../../ml/train/labeledExamples.js';
import { heatmapAugmentation, type TrainControl } from '../../ml/train/config.js';
import { trainHeatmapHead } from '../../ml/train/trainHeatmapHead.js';
import { trainPaperHead } from '../../ml/train/trainPaperHead.js';
import type { TrainPayload, TrainResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import { buildBackbone, FEATURE_STAGES, MODEL_RESIZE_MODE, saveLandmarkModel } from './landmarkModel.js';

export async function trainJob(payload: unknown, ctx: JobContext): Promise<TrainResult> {
  const { spec, features, items, flipPairs, budgetSeconds, augmentation, modelDir, cacheDir } = payload as TrainPayload;
  const budget = budgetSeconds === null ? {} : { budgetSeconds };
  ctx.progress({ step: 0, totalSteps: spec.steps, message: 'loading images' });
  const labeled: LabeledItem[] = items.map((item) => ({
    id: item.id,
    path: item.path,
    crop: item.crop,
    points: item.points,
  }));
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
  const stages = FEATURE_STAGES[spec.backbone];
  const backbone = buildBackbone(spec, features);
  try {
    const { model, report } =
      spec.head === 'heatmap'
        ? await trainHeatmapHead(
            {
              backbone,
              items: labeled,
              keypointCount: spec.keypointCount,
              flipPairs,
              config: {
                inputSize: spec.inputSize,
                fineTune: spec.fineTune,
                steps: spec.steps,
                ...budget,
                backboneStage: stages.heatmap,
                outputStride: stages.heatmapStride,
                ...(augmentation ? { augmentation: heatmapAugmentation(augmentation) } : {}),
              },
              cacheDir,
              seed: spec.seed,
            },
            control,
          )
        : await trainPaperHead(
            {
              backbone,
              items: labeled,
              keypointCount: spec.keypointCount,
              // Paper 000: a 48x48 grid for 96x96 input, i.e. half the input side.
              config: {
                inputSize: spec.inputSize,
                featureGridSize: Math.round(spec.inputSize / 2),
                steps: spec.steps,
                ...budget,
              },
              resizeMode: MODEL_RESIZE_MODE,
              stages: stages.paper,
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
