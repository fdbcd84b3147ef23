// Image renditions for both image transports (HTTP /image/<id> and the Electron lsimg://
// protocol): parses the id, asks services for the file, and serves it only when its real path
// lies inside the project's image root or cache folder.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { ImageKind } from '../../src-shared/bridge.js';
import { confinedRealpath } from './path-guard.js';
import type { ServedServices } from './served-services.js';

export interface ResolvedRendition {
  path: string;
  mime: string;
  size: number;
  /** Weak validator from path, size and modification time: ids are reused across projects. */
  etag: string;
}

const ID_PATTERN = /^[1-9][0-9]{0,15}$/;

export function parseImageId(text: string): number {
  const id = ID_PATTERN.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id))
    throw new ApiError('invalid', `Invalid image id "${text.slice(0, 40)}": expected a positive integer.`);
  return id;
}

export type RenditionResolver = (imageIdText: string, kind: ImageKind) => Promise<ResolvedRendition>;

export function createRenditionResolver(services: ServedServices): RenditionResolver {
  // The image root comes from project.info (which also counts rows): cached per project folder
  // and fetched again when a file falls outside it, so a relink is picked up.
  let cached: { projectDir: string; roots: string[] } | null = null;

  async function roots(refresh: boolean): Promise<string[]> {
    const projectDir = services.currentProjectDir();
    if (projectDir === null) throw new ApiError('no_project', 'No project is open: open or create a project first.');
    if (refresh || cached?.projectDir !== projectDir) {
      const info = await services.handlers['project.info']({});
      cached = { projectDir, roots: [info.imageRoot, join(projectDir, 'cache')] };
    }
    return cached.roots;
  }

  return async (imageIdText, kind) => {
    const imageId = parseImageId(imageIdText);
    const rendition = await services.imageRendition(imageId, kind);
    const real =
      (await confinedRealpath(rendition.path, await roots(false))) ??
      (await confinedRealpath(rendition.path, await roots(true)));
    if (real === null) {
      console.error(
        `[landmark-studio] refused image ${imageId} (${kind}): ${rendition.path} is missing or outside the image root and cache`,
      );
      throw new ApiError(
        'not_found',
        `Image ${imageId} is not available: its file is missing or outside the project's image folder.`,
      );
    }
    const info = await stat(real);
    if (!info.isFile()) throw new ApiError('not_found', `Image ${imageId} is not available: its path is not a file.`);
    const mime = rendition.mime.startsWith('image/') ? rendition.mime : 'application/octet-stream';
    const tag = createHash('sha1').update(`${real}\0${info.size}\0${info.mtimeMs}`).digest('base64url').slice(0, 20);
    return { path: real, mime, size: info.size, etag: `W/"${tag}"` };
  };
}
