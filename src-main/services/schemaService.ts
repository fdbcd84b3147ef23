// The keypoint schema: keypoints, flip partners (with the proposals from names and the rejected
// ones), skeleton edges and the normalisation pair.
// Every handler checks ids and rules first and changes the database in one transaction.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { Keypoint, KeypointSchema } from '../../src-shared/domain.js';
import { reviewFlipPartners } from '../../src-shared/flipPartners.js';
import type { ProjectStore } from '../store/projectStore.js';
import type { ProjectSession } from './session.js';

type SchemaHandlers = Pick<
  ApiHandlers,
  | 'schema.get'
  | 'keypoints.add'
  | 'keypoints.update'
  | 'keypoints.reorder'
  | 'keypoints.rejectFlipPair'
  | 'keypoints.delete'
  | 'skeleton.addEdge'
  | 'skeleton.deleteEdge'
  | 'schema.setNormPair'
>;

/** Distinct colours for new keypoints (Tableau 10, then its light variants): unused ones first. */
export const KEYPOINT_PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#a0cbe8',
  '#ffbe7d',
  '#ff9d9a',
  '#86bcb6',
  '#8cd17d',
  '#f1ce63',
  '#d4a6c8',
  '#fabfd2',
  '#d7b5a6',
  '#79706e',
] as const;

export function keypointSchema(store: ProjectStore): KeypointSchema {
  const keypoints = store.keypoints.list();
  const rejectedFlipPairs = store.keypoints.rejectedFlipPairs();
  const review = reviewFlipPartners(keypoints, rejectedFlipPairs);
  return {
    keypoints,
    edges: store.keypoints.edges(),
    normPair: store.settings.get('normPair') ?? null,
    flipProposals: review.proposals,
    rejectedFlipPairs,
    unpairedSides: review.unpaired,
  };
}

export function nextPaletteColour(used: readonly string[]): string {
  const taken = new Set(used.map((c) => c.toLowerCase()));
  return KEYPOINT_PALETTE.find((c) => !taken.has(c)) ?? KEYPOINT_PALETTE[used.length % KEYPOINT_PALETTE.length]!;
}

export function requireKeypoint(store: ProjectStore, id: number, role = 'keypoint'): Keypoint {
  const keypoint = store.keypoints.get(id);
  if (!keypoint) throw new ApiError('not_found', `No ${role} with id ${id} in this project's schema.`);
  return keypoint;
}

function requireFreeName(store: ProjectStore, name: string, exceptId?: number): void {
  const other = store.keypoints.getByName(name);
  if (other && other.id !== exceptId) {
    throw new ApiError(
      'conflict',
      `A keypoint named "${other.name}" already exists: names must be unique (ignoring case).`,
    );
  }
}

/** Adds a keypoint in a transaction the caller holds; returns its id. */
export function addKeypoint(store: ProjectStore, name: string, color?: string): number {
  requireFreeName(store, name);
  return store.keypoints.add(name, color ?? nextPaletteColour(store.keypoints.list().map((k) => k.color)));
}

export function schemaHandlers(session: ProjectSession): SchemaHandlers {
  /** Runs a change in one transaction and answers with the whole schema. */
  const change = (fn: (store: ProjectStore) => void): KeypointSchema => {
    const store = session.require();
    return store.transaction(() => {
      fn(store);
      return keypointSchema(store);
    });
  };

  return {
    'schema.get'() {
      return keypointSchema(session.require());
    },

    'keypoints.add'({ name, color }) {
      return change((store) => addKeypoint(store, name, color));
    },

    'keypoints.update'({ id, name, color, flipPartnerId }) {
      return change((store) => {
        requireKeypoint(store, id);
        if (flipPartnerId !== undefined && flipPartnerId !== null) {
          if (flipPartnerId === id) throw new ApiError('invalid', 'A keypoint cannot be its own flip partner.');
          requireKeypoint(store, flipPartnerId, 'flip partner keypoint');
        }
        if (name !== undefined) {
          requireFreeName(store, name, id);
          store.keypoints.rename(id, name);
        }
        if (color !== undefined) store.keypoints.recolour(id, color);
        if (flipPartnerId !== undefined) store.keypoints.setFlipPartner(id, flipPartnerId);
        // Pairing two keypoints by hand accepts them: a rejection of the pair no longer holds.
        if (flipPartnerId !== undefined && flipPartnerId !== null)
          store.keypoints.setFlipPairRejected(id, flipPartnerId, false);
      });
    },

    'keypoints.rejectFlipPair'({ a, b }) {
      return change((store) => {
        if (a === b) throw new ApiError('invalid', 'A flip pair needs two different keypoints.');
        requireKeypoint(store, a);
        const kb = requireKeypoint(store, b);
        if (kb.flipPartnerId === a) store.keypoints.setFlipPartner(a, null);
        store.keypoints.setFlipPairRejected(a, b, true);
      });
    },

    'keypoints.reorder'({ ids }) {
      return change((store) => {
        const current = store.keypoints.list().map((k) => k.id);
        const given = new Set(ids);
        if (given.size !== ids.length) throw new ApiError('invalid', 'keypoints.reorder: ids lists a keypoint twice.');
        const unknown = ids.filter((i) => !current.includes(i));
        if (unknown.length > 0)
          throw new ApiError('not_found', `keypoints.reorder: no keypoint with id ${unknown.join(', ')}.`);
        const left = current.filter((i) => !given.has(i));
        if (left.length > 0) {
          throw new ApiError(
            'invalid',
            `keypoints.reorder: ids must list every keypoint once; missing ${left.join(', ')}.`,
          );
        }
        store.keypoints.reorder(ids);
      });
    },

    'keypoints.delete'({ id, confirm }) {
      return change((store) => {
        const keypoint = requireKeypoint(store, id);
        const { labels, images } = store.keypoints.labelCount(id);
        if (labels > 0 && !confirm) {
          throw new ApiError(
            'confirm_required',
            `"${keypoint.name}" has ${labels} label${labels === 1 ? '' : 's'} on ${images} image${images === 1 ? '' : 's'}: deleting it deletes them too. Confirm to go ahead.`,
            { labels, images },
          );
        }
        const normPair = store.settings.get('normPair');
        if (normPair?.includes(id)) store.settings.set('normPair', null);
        store.keypoints.delete(id);
      });
    },

    'skeleton.addEdge'({ a, b }) {
      return change((store) => {
        if (a === b) throw new ApiError('invalid', 'A skeleton edge needs two different keypoints.');
        const ka = requireKeypoint(store, a);
        const kb = requireKeypoint(store, b);
        if (store.keypoints.findEdge(a, b)) {
          throw new ApiError('conflict', `The skeleton already has an edge between "${ka.name}" and "${kb.name}".`);
        }
        store.keypoints.addEdge(a, b);
      });
    },

    'skeleton.deleteEdge'({ id }) {
      return change((store) => {
        if (!store.keypoints.getEdge(id)) throw new ApiError('not_found', `No skeleton edge with id ${id}.`);
        store.keypoints.deleteEdge(id);
      });
    },

    'schema.setNormPair'({ pair }) {
      return change((store) => {
        if (pair) {
          if (pair[0] === pair[1])
            throw new ApiError('invalid', 'The normalisation pair needs two different keypoints.');
          requireKeypoint(store, pair[0]);
          requireKeypoint(store, pair[1]);
        }
        store.settings.set('normPair', pair);
      });
    },
  };
}
