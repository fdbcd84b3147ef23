// The 'predict' job (in the worker): loads a trained model from its folder and predicts every
// image, in original image pixels. Unreadable images are reported and skipped.
import { encodeFloat16 } from '../../../src-shared/float16.js';
import { predictLandmarks } from '../../ml/predict.js';
import type { PredictPayload, PredictResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import { loadLandmarkModel } from './landmarkModel.js';
import { PredictionMatcher } from './match.js';

export async function predictJob(payload: unknown, ctx: JobContext): Promise<PredictResult> {
  const { modelDir, images, cacheDir, matching } = payload as PredictPayload;
  const model = loadLandmarkModel(modelDir);
  const started = performance.now();
  const problems: string[] = [];
  let matcher: PredictionMatcher | null = null;
  try {
    ctx.progress({ step: 0, totalSteps: images.length });
    matcher = matching
      ? await PredictionMatcher.open(matching, model.predictor.inputSize, problems, {
          dir: modelDir,
          backbone: model.backbone,
          tapStages: model.predictor.tapStages ?? [],
        })
      : null;
    const report = await predictLandmarks(model.predictor, images, {
      cacheDir,
      signal: ctx.signal,
      onBatch: (inputs, taps, rows) =>
        matcher?.matchBatch(
          inputs,
          taps,
          rows.map((r) => ({ id: Number(r.id), transform: r.transform })),
        ),
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
    const matches = matcher?.matches ?? new Map();
    const seconds = (performance.now() - started) / 1000;
    return {
      predictions: report.predictions.map((p) => ({
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
        ...(matches.has(Number(p.id)) && { matches: matches.get(Number(p.id)) }),
      })),
      problems,
      seconds,
      imagesPerSecond: report.predictions.length / Math.max(seconds, 1e-9),
    };
  } finally {
    matcher?.dispose();
    model.dispose();
  }
}
