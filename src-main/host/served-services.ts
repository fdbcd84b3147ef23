// What every transport (HTTP host, Electron shell, CLI) needs from src-main/services: the API
// handlers and the image renditions. Structural, so transports and their tests depend on the
// shape, not on how services are built.
import type { ApiHandlers } from '../../src-shared/api.js';
import type { ImageKind } from '../../src-shared/bridge.js';

export interface ImageRendition {
  path: string;
  mime: string;
}

export interface ServedServices {
  handlers: ApiHandlers;
  /** A file for the image (full) or its cached thumbnail; throws ApiError('not_found') for unknown ids. */
  imageRendition(imageId: number, kind: ImageKind): Promise<ImageRendition>;
  /** The open project's folder, or null before one is opened. */
  currentProjectDir(): string | null;
}
