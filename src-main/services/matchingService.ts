// matching.* and overlays.*: a point matched from a reference image onto a target (stored as an
// overlay), the matching benchmark on the project's labels, label propagation as pre-labels, and
// stored overlays read back (no computation). The descriptors are computed in a job process.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { MatchingErrors, Overlay } from '../../src-shared/domain.js';
import { evaluateMatching, matchOnImage, propagateToImages } from '../jobs/matching.js';
import type { MatchErrors } from '../jobs/matchTypes.js';
import type { WorkerEntry } from '../jobs/runner.js';
import { OverlayDataError } from '../store/overlays.js';
import type { ProjectSession } from './session.js';

type MatchingHandlers = Pick<
  ApiHandlers,
  'matching.match' | 'matching.evaluate' | 'matching.propagate' | 'overlays.get' | 'overlays.find'
>;

/** A stored overlay, or an ApiError when its map is damaged. */
function readOverlay(read: () => Overlay | undefined): Overlay | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof OverlayDataError) throw new ApiError('invalid', err.message);
    throw err;
  }
}

function byName(errors: MatchErrors, names: string[]): MatchingErrors {
  return {
    meanError: errors.meanError,
    perKeypoint: Object.fromEntries(names.map((n, i) => [n, errors.perKeypoint[i] ?? null])),
    pairs: errors.pairs,
    points: errors.points,
  };
}

export function matchingHandlers(session: ProjectSession, options: { entry?: WorkerEntry } = {}): MatchingHandlers {
  return {
    'matching.match': async (req) => {
      const { match, overlayId } = await matchOnImage(session.require(), req, options);
      return { match, overlayId };
    },
    'matching.evaluate': async (req) => {
      const result = await evaluateMatching(session.require(), req, options);
      return {
        features: req.features,
        same: byName(result.same, result.keypointNames),
        different: byName(result.different, result.keypointNames),
        problems: result.problems,
        seconds: result.seconds,
      };
    },
    'matching.propagate': async (req) => {
      const result = await propagateToImages(session.require(), req, options);
      return {
        predictions: result.predictions.map((p) => ({
          imageId: p.imageId,
          points: p.points.flatMap((q, k) => (q ? [{ keypointId: result.keypointIds[k]!, ...q }] : [])),
        })),
        problems: result.problems,
      };
    },
    'overlays.get': ({ overlayId }) => {
      const overlay = readOverlay(() => session.require().overlays.get(overlayId));
      if (!overlay) throw new ApiError('not_found', `No overlay ${overlayId} in this project.`);
      return overlay;
    },
    'overlays.find': ({ runId, imageId, keypointId, kind }) =>
      readOverlay(() => session.require().overlays.find(runId, imageId, keypointId, kind)) ?? null,
  };
}
