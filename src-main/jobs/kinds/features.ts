// The 'features' job (in the worker): loads a trained model and pools the features of the
// backbone stage its head reads over every image (LoadedModel.pooledFeatures), for the "label
// these next" suggestions. Unreadable images are reported and skipped.
import { BatchLoader } from '../../ml/image/batchLoader.js';
import type { FeaturesPayload, FeaturesResult } from '../jobTypes.js';
import type { JobContext } from '../protocol.js';
import { loadLandmarkModel } from './landmarkModel.js';

export async function featuresJob(payload: unknown, ctx: JobContext): Promise<FeaturesResult> {
  const { modelDir, images, cacheDir } = payload as FeaturesPayload;
  const model = loadLandmarkModel(modelDir);
  const started = performance.now();
  const problems: string[] = [];
  const features: FeaturesResult['features'] = [];
  try {
    const loader = new BatchLoader(images, {
      size: model.predictor.inputSize,
      mode: model.predictor.resizeMode,
      batchSize: 16,
      cacheDir,
      onBrokenImage: (path, error) => problems.push(`${path} cannot be read: ${error.message}`),
      thread: true, // as prediction: the files are read while this thread is in TensorFlow
    });
    ctx.progress({ step: 0, totalSteps: images.length });
    let done = 0;
    for await (const batch of loader.epoch()) {
      let pooled;
      try {
        if (ctx.signal.aborted)
          throw Object.assign(new Error(`features cancelled after ${done} images`), { name: 'AbortError' });
        pooled = model.pooledFeatures(batch.images);
      } finally {
        batch.images.dispose();
      }
      batch.indices.forEach((index, row) => features.push({ id: images[index]!.id, vector: Array.from(pooled[row]!) }));
      done += batch.indices.length;
      const seconds = (performance.now() - started) / 1000;
      ctx.progress({ step: done, totalSteps: images.length, imagesPerSec: done / seconds });
    }
    const seconds = (performance.now() - started) / 1000;
    return { features, problems, seconds };
  } finally {
    model.dispose();
  }
}
