// The RendererBridge over the plain-Node host's HTTP routes (src-shared/bridge.ts), used when the
// renderer runs in a browser (`landmark-studio serve`, end-to-end tests).
import { ApiError, type ApiMethod, type ApiRequest, type ApiResponse } from '../../../src-shared/api.js';
import { HTTP_ROUTES, type ImageKind, type RendererBridge, type WireResult } from '../../../src-shared/bridge.js';
import type { ProgressEvent } from '../../../src-shared/domain.js';

const TOKEN_KEY = 'landmark-studio.token';

/**
 * The host's token comes in the page URL (`?token=`). It is kept in sessionStorage and removed
 * from the address bar, so a reload keeps working and the token does not linger in history.
 */
export function takeToken(location: Location, storage: Storage, history: History): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY) ?? '';
}

export function createHttpBridge(token: string, origin = ''): RendererBridge {
  const listeners = new Set<(event: ProgressEvent) => void>();
  let source: EventSource | null = null;

  function openEvents(): void {
    source = new EventSource(`${origin}${HTTP_ROUTES.events}?token=${encodeURIComponent(token)}`);
    source.onmessage = (message: MessageEvent<string>) => {
      let event: ProgressEvent;
      try {
        event = JSON.parse(message.data) as ProgressEvent;
      } catch {
        return; // a malformed event is not worth breaking the UI for
      }
      for (const listener of listeners) listener(event);
    };
  }

  return {
    transport: 'browser',

    async call<M extends ApiMethod>(method: M, req: ApiRequest<M>): Promise<ApiResponse<M>> {
      let response: Response;
      try {
        response = await fetch(`${origin}${HTTP_ROUTES.api}${method}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(req ?? {}),
        });
      } catch {
        throw new ApiError(
          'internal',
          'Cannot reach the Landmark Studio host. Is `landmark-studio serve` still running?',
        );
      }
      let body: WireResult<ApiResponse<M>>;
      try {
        body = (await response.json()) as WireResult<ApiResponse<M>>;
      } catch {
        if (response.status === 401 || response.status === 403) {
          throw new ApiError('invalid', 'The host refused the access token. Open the URL that `serve` printed.');
        }
        throw new ApiError('internal', `The host answered ${response.status} ${response.statusText} without a result.`);
      }
      if (body.ok) return body.result;
      throw new ApiError(body.error.code, body.error.message);
    },

    imageUrl(imageId: number, kind: ImageKind): string {
      const route = kind === 'thumb' ? HTTP_ROUTES.thumb : HTTP_ROUTES.image;
      return `${origin}${route}${imageId}?token=${encodeURIComponent(token)}`;
    },

    onProgress(listener: (event: ProgressEvent) => void): () => void {
      listeners.add(listener);
      if (!source) openEvents();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  };
}
