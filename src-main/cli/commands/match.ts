// `match`: where is this point of a reference image on a target image, by nearest-neighbour
// matching of a run's descriptors (paper 001 Sec. 4.2); the similarity map is stored as an overlay.
import { ApiError } from '../../../src-shared/api.js';
import type { ImageSummary } from '../../../src-shared/domain.js';
import { stringOption, UsageError, type Command } from '../command.js';
import type { Session } from '../session.js';
import { featuresOption } from './run-options.js';

/** An image by id, relative path, or file name (when only one image has it). */
async function findImage(session: Session, text: string, flag: string): Promise<ImageSummary> {
  const { items } = await session.call('images.list', { limit: 100_000 });
  const byId = /^\d+$/.test(text) ? items.find((i) => i.id === Number(text)) : undefined;
  const byPath = items.filter((i) => i.relPath === text || i.relPath.split('/').pop() === text);
  const found = byId ?? (byPath.length === 1 ? byPath[0] : undefined);
  if (found) return found;
  throw new ApiError(
    byPath.length > 1 ? 'invalid' : 'not_found',
    byPath.length > 1
      ? `${flag} ${text} names ${byPath.length} images: give its path relative to the image folder.`
      : `No image ${text} in this project (${flag} takes an image id, a path relative to the image folder, or a file name).`,
  );
}

export const matchCommand: Command = {
  name: 'match',
  summary: "Find a reference image's point on a target image by matching a run's descriptors.",
  positionals: [{ name: 'project-dir', description: 'the project folder' }],
  options: {
    features: {
      type: 'string',
      value: '<run-id>|random',
      description: 'a pretraining, projection or training run whose descriptors are matched, or random init',
    },
    ref: { type: 'string', value: '<image>', description: 'the reference image (id, relative path or file name)' },
    point: {
      type: 'string',
      value: '<name>|<x>,<y>',
      description: "a keypoint labeled on the reference, or a point in the reference's pixels",
    },
    target: { type: 'string', value: '<image>', description: 'the image to find the point on' },
    json: { type: 'boolean', description: 'print the match as JSON' },
  },
  details: [
    'Prints the match (target pixels), its score (cosine similarity) and the second-best peak away from it,',
    'with the margin between them (a small margin: the point may be its left/right twin). The similarity',
    'map is stored as an overlay of the features run; ends with "overlay <id>".',
    'Example: landmark-studio match ./mice --features 4 --ref img001.png --point nose --target img017.png',
  ].join('\n'),
  async run(args, ctx) {
    const features = featuresOption(args, 'match');
    const [ref, point, target] = ['ref', 'point', 'target'].map((name) => stringOption(args, name));
    if (features === undefined || ref === undefined || point === undefined || target === undefined)
      throw new UsageError('match needs --features, --ref, --point and --target.', 'match');
    const xy = /^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$/.exec(point);
    const result = await ctx.withSession(async (session) => {
      await session.openProject(args.positionals[0]!);
      const reference = await findImage(session, ref, '--ref');
      const targetImage = await findImage(session, target, '--target');
      let keypointId: number | undefined;
      if (!xy) {
        const keypoint = (await session.call('schema.get', {})).keypoints.find((k) => k.name === point);
        if (!keypoint)
          throw new ApiError('not_found', `No keypoint named ${point} (--point takes a keypoint name or x,y).`);
        keypointId = keypoint.id;
      }
      const matched = await session.call('matching.match', {
        features,
        referenceImageId: reference.id,
        targetImageId: targetImage.id,
        ...(xy ? { point: { x: Number(xy[1]), y: Number(xy[2]) } } : { keypointId }),
      });
      return { ...matched, reference, target: targetImage };
    });
    if (args.options.json === true) {
      ctx.print(JSON.stringify({ match: result.match, overlayId: result.overlayId }, null, 2));
      return;
    }
    const m = result.match;
    ctx.print(
      `${point} of ${result.reference.relPath} on ${result.target.relPath}: (${m.x.toFixed(1)}, ${m.y.toFixed(1)}), score ${m.score.toFixed(3)}`,
    );
    ctx.print(
      m.second
        ? `  second peak: (${m.second.x.toFixed(1)}, ${m.second.y.toFixed(1)}), score ${m.second.score.toFixed(3)}, margin ${m.margin.toFixed(3)}`
        : '  no second peak',
    );
    ctx.print(`overlay ${result.overlayId}`);
  },
};
