// The 'predict' job (in the worker): loads a trained model from its folder and predicts every
// image, in original image pixels. Unreadable images are reported and skipped.
import { encodeFloat16 } from '../../../src-shared/float16.js';
import { predictLandmarks } from '../../ml/predict.js';
import type { PredictPayload, PredictResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import { loadLandmarkModel } from './landmarkModel.js';
import { referenceMatches } from './match.js';

export async function predictJob(payload: unknown, ctx: JobContext): Promise<PredictResult> {
  const { modelDir, images, cacheDir, matching } = payload as PredictPayload;
  const model = loadLandmarkModel(modelDir);
  const started = performance.now();
  try {
    ctx.progress({ step: 0, totalSteps: images.length });
    const report = await predictLandmarks(model.predictor, images, {
      cacheDir,
      signal: ctx.signal,
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
    const problems = [...report.problems];
    if (matching) ctx.progress({ step: images.length, totalSteps: images.length, message: 'matching maps' });
    const matches = matching ? await referenceMatches(matching, images, problems) : new Map();
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
            maps: p.heatmaps.maps.map((m) => Buffer.from(encodeFloat16(m)).toString('base64')),
          },
        }),
        ...(matches.has(Number(p.id)) && { matches: matches.get(Number(p.id)) }),
      })),
      problems,
      seconds,
      imagesPerSecond: report.predictions.length / Math.max(seconds, 1e-9),
    };
  } finally {
    model.dispose();
  }
}
