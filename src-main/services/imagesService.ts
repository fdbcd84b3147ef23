// images.list / get / problems.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ImageRecord } from '../../src-shared/domain.js';
import type { ProjectStore } from '../store/projectStore.js';
import type { ProjectSession } from './session.js';

type ImagesHandlers = Pick<ApiHandlers, 'images.list' | 'images.get' | 'images.problems'>;

export function imagesHandlers(session: ProjectSession): ImagesHandlers {
  return {
    'images.list'({ filter, offset, limit }) {
      return session.require().images.list(filter, offset, limit);
    },

    'images.get'({ imageId }) {
      const store = session.require();
      return { image: requireImage(store, imageId), annotations: store.annotations.listForImage(imageId) };
    },

    /** Unusable files, then files whose content duplicates an earlier one (usable, but reported). */
    'images.problems'() {
      const store = session.require();
      const duplicates = store.images.duplicates().map((d) => ({
        relPath: d.relPath,
        reason: `duplicate of ${d.firstPath} (same content)`,
      }));
      return [...store.images.problems(), ...duplicates];
    },
  };
}

export function requireImage(store: ProjectStore, imageId: number): ImageRecord {
  const image = store.images.get(imageId);
  if (!image) throw new ApiError('not_found', `No image with id ${imageId} in this project.`);
  return image;
}
