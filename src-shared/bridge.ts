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
  /**
   * Native folder chooser (Electron only); resolves null when the user cancels. In Electron the
   * API may use only paths picked here or in pickFile (and the open project's folders).
   */
  pickFolder?(title?: string): Promise<string | null>;
  /** Native file chooser (Electron only): a file to read, or with `save` a file to write. */
  pickFile?(options: { title?: string; save?: boolean }): Promise<string | null>;
}

/** Body of every HTTP API response and every IPC reply. */
export type WireResult<T = unknown> =
  { ok: true; result: T } | { ok: false; error: { code: ApiErrorCode; message: string } };

/** HTTP routes of the plain-Node host. */
export const HTTP_ROUTES = {
  api: '/api/', // POST /api/<method>, JSON body, Authorization: Bearer <token>
  image: '/image/', // GET /image/<id>?token=...  (full rendition)
  thumb: '/thumb/', // GET /thumb/<id>?token=...
  events: '/events', // GET /events?token=...  server-sent events, data: ProgressEvent JSON
} as const;

/** The custom protocol Electron registers for images: lsimg://full/<id>, lsimg://thumb/<id>. */
export const IMAGE_PROTOCOL = 'lsimg';

/**
 * Content-Security-Policy of the renderer, sent as a header by the HTTP host and the Electron
 * app protocol and put in a <meta> tag of src-renderer/index.html. Scripts only from the app
 * itself; inline style attributes are allowed because they cannot run code (Svelte templates
 * use them); images (also fetched, to decode off the main thread) from the image protocol too.
 * `frame-ancestors` is added where it is a header (browsers ignore it in <meta>).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' data: blob: ${IMAGE_PROTOCOL}:`,
  "font-src 'self' data:",
  `connect-src 'self' ${IMAGE_PROTOCOL}:`,
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
