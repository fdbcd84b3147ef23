// Writes the HTML report of an evaluation (jobs/report.ts) from what the API returns: the
// training run's loss curve, the schema, and the held-out images with their labels and
// predictions. Used by `evaluate --report` and `demo`.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiClient } from '../../../src-shared/api.js';
import type { EvaluationReport } from '../../../src-shared/domain.js';
import type { ReportImage } from '../../jobs/report.js';

/** Held-out images drawn in the report (the metrics cover all of them). */
const REPORT_IMAGES = 24;

async function reportImages(
  client: ApiClient,
  keypointIds: readonly number[],
  evaluation: EvaluationReport,
): Promise<ReportImage[]> {
  const info = await client.call('project.info', {});
  const predictions = await client.call('predictions.list', { runId: evaluation.predictRunId });
  const byImage = new Map<number, typeof predictions>();
  for (const p of predictions) byImage.set(p.imageId, [...(byImage.get(p.imageId) ?? []), p]);
  const images: ReportImage[] = [];
  for (const [imageId, points] of byImage) {
    if (images.length === REPORT_IMAGES) break;
    const { image, annotations } = await client.call('images.get', { imageId });
    // Only the evaluated split's labeled images.
    if (image.split !== evaluation.split || annotations.length === 0) continue;
    const labels = new Map(annotations.map((a) => [a.keypointId, a]));
    const predicted = new Map(points.map((p) => [p.keypointId, p]));
    images.push({
      name: image.relPath,
      path: path.join(info.imageRoot, ...image.relPath.split('/')),
      frame: image.crop ?? { x: 0, y: 0, w: image.width, h: image.height },
      truth: keypointIds.map((id) => labels.get(id) ?? null),
      predicted: keypointIds.map((id) => predicted.get(id) ?? { x: Number.NaN, y: Number.NaN, confidence: 0 }),
    });
  }
  return images;
}

export async function writeEvaluationReport(
  client: ApiClient,
  evaluation: EvaluationReport,
  file: string,
  text: {
    title: string;
    notes: string[];
    totalSeconds?: number;
    /** Side-by-side comparison: what `evaluation` is, and other models on the same split. */
    label?: string;
    compared?: { label: string; evaluation: EvaluationReport }[];
  },
): Promise<void> {
  const [{ run, curves }, schema, compared] = await Promise.all([
    client.call('runs.get', { runId: evaluation.trainRunId }),
    client.call('schema.get', {}),
    // Each compared model's training loss, drawn beside this one's.
    Promise.all(
      (text.compared ?? []).map(async (c) => ({
        ...c,
        loss: (await client.call('runs.get', { runId: c.evaluation.trainRunId })).curves.loss ?? [],
      })),
    ),
  ]);
  // The pretraining run whose features the model started from, if any: its loss curve is plotted.
  const features = run.config.features;
  const pretraining = typeof features === 'number' ? await client.call('runs.get', { runId: features }) : null;
  const chance = pretraining?.run.metrics?.chanceLoss;
  const keypointIds = run.config.keypointIds as number[];
  const index = new Map(keypointIds.map((id, k) => [id, k]));
  // Loaded here: sharp is a native module that --help and usage errors should not load.
  const { renderReport } = await import('../../jobs/report.js');
  const html = await renderReport({
    title: text.title,
    notes: text.notes,
    evaluation,
    ...(text.label === undefined ? {} : { label: text.label }),
    ...(text.compared === undefined ? {} : { compared }),
    ...(pretraining === null
      ? {}
      : {
          pretraining: {
            method: pretraining.run.method,
            loss: pretraining.curves.loss ?? [],
            chance: typeof chance === 'number' ? chance : null,
          },
        }),
    keypoints: keypointIds.map((id) => {
      const k = schema.keypoints.find((kp) => kp.id === id);
      return { name: k?.name ?? `#${id}`, color: k?.color ?? '#ff00ff' };
    }),
    edges: schema.edges.flatMap((e) =>
      index.has(e.a) && index.has(e.b) ? [[index.get(e.a)!, index.get(e.b)!] as [number, number]] : [],
    ),
    loss: curves.loss ?? [],
    images: await reportImages(client, keypointIds, evaluation),
    ...(text.totalSeconds === undefined ? {} : { totalSeconds: text.totalSeconds }),
  });
  await writeFile(file, html);
}
