// A second process labeling the same project, for the concurrency and kill tests:
//   node --import tsx annotateWorker.ts <projectDir> <tag 1-9> <count | 'forever'>
// Prints the number of committed changes after each commit.
import { dispatch } from '../../../src-shared/api.js';
import type { ImageSummary, KeypointSchema } from '../../../src-shared/domain.js';
import { createServices } from '../index.js';

const [projectDir, tagText, countText] = process.argv.slice(2);
const tag = Number(tagText);
const count = countText === 'forever' ? Infinity : Number(countText);
const services = createServices({ projectDir: projectDir! });
const call = (method: string, payload: unknown) => dispatch(services.handlers, method, payload);
const images = ((await call('images.list', {})) as { items: ImageSummary[] }).items.filter((i) => i.problem === null);
const keypoints = ((await call('schema.get', {})) as KeypointSchema).keypoints;
for (let i = 0; i < count; i++) {
  const image = images[i % images.length]!;
  const keypoint = keypoints[Math.floor(i / images.length) % keypoints.length]!;
  // x encodes the writer and the step, so the final state shows who wrote last.
  await call('annotations.set', { imageId: image.id, keypointId: keypoint.id, x: tag, y: (i % 40) + 1 });
  process.stdout.write(`${i + 1}\n`);
}
services.close();
