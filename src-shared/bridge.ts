// What the renderer sees of its host, whichever transport carries it: the Electron preload
// exposes it as `window.api`; in a browser the HTTP client implements the same interface.
import type { ApiErrorCode, ApiMethod, ApiRequest, ApiResponse } from './api.js';
import type { ProgressEvent } from './domain.js';

export type ImageKind = 'full' | 'thumb';

export interface RendererBridge {
  call<M extends ApiMethod>(method: M, req: ApiRequest<M>): Promise<ApiResponse<M>>;
  /** URL of an image rendition the renderer can put in <img> or Konva (EXIF applied). */
  imageUrl(imageId: number, kind: ImageKind): string;
  /** Subscribes to progress events; returns the unsubscribe function. */
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  /** 'electron' or 'browser', shown in the status bar. */
  readonly transport: 'electron' | 'browser';
}

/** Body of every HTTP API response and every IPC reply. */
export type WireResult<T = unknown> =
  | { ok: true; result: T }
  | { ok: false; error: { code: ApiErrorCode; message: string } };

/** HTTP routes of the plain-Node host. */
export const HTTP_ROUTES = {
  api: '/api/', // POST /api/<method>, JSON body, Authorization: Bearer <token>
  image: '/image/', // GET /image/<id>?token=...  (full rendition)
  thumb: '/thumb/', // GET /thumb/<id>?token=...
  events: '/events', // GET /events?token=...  server-sent events, data: ProgressEvent JSON
} as const;

/** The custom protocol Electron registers for images: lsimg://full/<id>, lsimg://thumb/<id>. */
export const IMAGE_PROTOCOL = 'lsimg';
