// The 'predict' job (in the worker): loads a trained model from its folder and predicts every
// image, in original image pixels, sending each batch (points, heatmaps, matching maps) to the
// parent as soon as it is made. Unreadable images are reported and skipped.
import { encodeFloat16 } from '../../../src-shared/float16.js';
import { PREDICT_BATCH_SIZE, predictLandmarks } from '../../ml/predict.js';
import type { PredictBatch, PredictPayload, PredictResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import { createBackbone } from '../../ml/backbones/index.js';
import { tf } from '../../ml/engine.js';
import { HeatmapHead } from '../../ml/heads/heatmapHead.js';
import { HEATMAP_HEAD_DEFAULTS } from '../../ml/train/config.js';
import { HeatmapLandmarkModel, heatmapHeadSpec } from '../../ml/train/trainHeatmapHead.js';
import { loadLandmarkModel } from './landmarkModel.js';
import { PredictionMatcher } from './match.js';

/** The largest first batch made to hold the references (4 batches' worth of activations). */
const MAX_FIRST_BATCH = 4 * PREDICT_BATCH_SIZE;

export async function predictJob(payload: unknown, ctx: JobContext): Promise<PredictResult> {
  const { modelDir, images, cacheDir, matching } = payload as PredictPayload;
  const model = loadLandmarkModel(modelDir);
  const started = performance.now();
  const problems: string[] = [];
  // Set by `prepare` (a closure, which TypeScript's narrowing does not follow).
  let matcher = null as PredictionMatcher | null;
  let predicted = 0;
  // The labeled references it predicts go first, together in the first batch (up to a bound on
  // its memory), whose taps then describe them for the matching maps.
  const referenceIds = new Set(matching?.references.map((r) => r.id));
  const references = images.filter((i) => referenceIds.has(i.id));
  const ordered = [...references, ...images.filter((i) => !referenceIds.has(i.id))];
  const firstBatchSize =
    references.length <= MAX_FIRST_BATCH ? Math.max(PREDICT_BATCH_SIZE, references.length) : PREDICT_BATCH_SIZE;
  try {
    ctx.progress({ step: 0, totalSteps: images.length });
    const report = await predictLandmarks(model.predictor, ordered, {
      batchSize: PREDICT_BATCH_SIZE,
      firstBatchSize,
      cacheDir,
      signal: ctx.signal,
      // Where references are read and described, the input thread reads the first batches meanwhile.
      prepare: async () => {
        matcher = matching
          ? await PredictionMatcher.open(
              matching,
              model.predictor.inputSize,
              problems,
              {
                dir: modelDir,
                backbone: model.backbone,
                tapStages: model.predictor.tapStages ?? [],
              },
              new Set(ordered.slice(0, firstBatchSize).map((i) => i.id)),
            )
          : null;
      },
      onBatch: (inputs, taps, rows) =>
        matcher?.matchBatch(
          inputs,
          taps,
          rows.map((r) => ({ id: Number(r.id), transform: r.transform })),
        ),
      onPredicted: async (batch) => {
        const piece: PredictBatch = {
          predictions: batch.map((p) => {
            const matches = matcher?.take(Number(p.id));
            return {
              id: Number(p.id),
              points: p.points,
              ...(p.heatmaps && {
                heatmaps: {
                  width: p.heatmaps.width,
                  height: p.heatmaps.height,
                  bounds: p.heatmaps.bounds,
                  maps: p.heatmaps.maps.map((m) => encodeFloat16(m)),
                },
              }),
              ...(matches && { matches }),
            };
          }),
        };
        await ctx.partial(piece);
        predicted += batch.length;
      },
      onProgress: (done, total) => {
        const seconds = (performance.now() - started) / 1000;
        ctx.progress({
          step: done,
          totalSteps: total,
          imagesPerSec: done / seconds,
          etaSec: (seconds / done) * (total - done),
        });
      },
    });
    problems.push(...report.problems);
    const seconds = (performance.now() - started) / 1000;
    return { predicted, problems, seconds, imagesPerSecond: predicted / Math.max(seconds, 1e-9) };
  } finally {
    matcher?.dispose();
    model.dispose();
  }
}

/**
 * Runs the default model's shapes once (ResNet-18 with the heatmap head at its default input, a
 * batch of PREDICT_BATCH_SIZE), with zero weights, in a spare worker before any job: TensorFlow
 * prepares each convolution the first time it meets its shapes (about 0.5 s for this network here),
 * which would otherwise fall on a prediction's first batch. The weights do not matter to that
 * (bench/README.md, prediction throughput).
 */
export function warmDefaultPrediction(): void {
  const config = HEATMAP_HEAD_DEFAULTS;
  const backbone = createBackbone({ arch: 'resnet18' }, { randomInit: false, trainable: false });
  const head = new HeatmapHead(backbone, heatmapHeadSpec(config, 1));
  const images = tf.zeros([PREDICT_BATCH_SIZE, config.inputSize, config.inputSize, 3]) as Tensor4D;
  try {
    new HeatmapLandmarkModel(head, config.inputSize).predictInput(images);
  } finally {
    images.dispose();
    head.dispose();
    backbone.dispose();
  }
}
