// A features run, parent side: a finished training run's model pools the backbone features of
// every usable image (jobs/kinds/features.ts) into a 'features' run (child of the training run)
// whose vectors the "label these next" suggestions read (services/reviewService.ts).
import path from 'node:path';
import type { RunRecord } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import { createRun, executeRun, type ExecuteOptions, type RunOutcome } from './executeRun.js';
import type { FeaturesPayload, FeaturesResult } from './jobTypes.js';
import { allItems, itemsOfSplit, jobImage } from './projectData.js';

export async function runFeatures(
  store: ProjectStore,
  trainRun: RunRecord,
  options: ExecuteOptions = {},
): Promise<{ runId: number; outcome: RunOutcome<FeaturesResult> }> {
  const items = itemsOfSplit(store, 'all');
  const runId = createRun(
    store,
    {
      kind: 'features',
      method: trainRun.method,
      config: { trainRunId: trainRun.id, images: items.length },
      parentRunId: trainRun.id,
    },
    options.runId,
  );
  const payload: FeaturesPayload = {
    modelDir: path.join(store.modelsDir, trainRun.checkpointPath!),
    images: items.map((item) => jobImage(store, item)),
    cacheDir: store.cacheDir,
  };
  const outcome = await executeRun<FeaturesResult>(
    store,
    runId,
    'features',
    payload,
    {
      done: (result) => {
        // Images gone since the run started get no vector.
        const images = new Set(allItems(store).map((item) => item.id));
        const kept = result.features.filter((f) => images.has(f.id));
        store.review.setFeatures(
          runId,
          kept.map((f) => ({ imageId: f.id, vector: Float32Array.from(f.vector) })),
        );
        return {
          images: items.length,
          computed: kept.length,
          dimensions: kept[0]?.vector.length ?? 0,
          problems: result.problems,
          seconds: result.seconds,
        };
      },
    },
    options,
  );
  return { runId, outcome };
}
