// The two custom protocols: lsimg:// serves image renditions (only through services, confined
// to the image root and cache like the HTTP host's /image routes) and lsapp://renderer/ serves
// the built renderer with the Content-Security-Policy header.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { CustomScheme } from 'electron';
import { CONTENT_SECURITY_POLICY, IMAGE_PROTOCOL } from '../../src-shared/bridge.js';
import type { RenditionResolver } from '../host/rendition.js';
import { contentTypeFor, resolveStaticFile } from '../host/static-files.js';
import { HTTP_STATUS_OF, toWireError } from '../host/wire.js';
import { APP_PROTOCOL } from './channels.js';

/** Registered before the app is ready: standard + secure gives each a proper origin. */
export const PRIVILEGED_SCHEMES: CustomScheme[] = [
  { scheme: APP_PROTOCOL, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  // Fetchable (the canvas decodes images from fetched blobs) and streamed.
  {
    scheme: IMAGE_PROTOCOL,
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true },
  },
];

function fileBody(path: string): ReadableStream {
  return Readable.toWeb(createReadStream(path)) as ReadableStream;
}

function failure(status: number, message: string): Response {
  return new Response(
    JSON.stringify({ ok: false, error: { code: status === 404 ? 'not_found' : 'invalid', message } }),
    {
      status,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    },
  );
}

/** lsimg://full/<id> or lsimg://thumb/<id>, readable by fetch() from `rendererOrigin`. */
export async function handleImageRequest(
  resolveRendition: RenditionResolver,
  request: Request,
  rendererOrigin: string,
): Promise<Response> {
  const url = new URL(request.url);
  const kind = url.host;
  if (kind !== 'full' && kind !== 'thumb')
    return failure(404, `Unknown image kind "${kind.slice(0, 40)}": use full or thumb.`);
  try {
    const rendition = await resolveRendition(url.pathname.slice(1), kind);
    return new Response(fileBody(rendition.path), {
      status: 200,
      headers: {
        'Content-Type': rendition.mime,
        'Content-Length': String(rendition.size),
        ETag: rendition.etag,
        'Cache-Control': 'private, no-cache',
        'Access-Control-Allow-Origin': rendererOrigin,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch (error) {
    const wire = toWireError(error, `image ${request.url.slice(0, 100)}`);
    return new Response(JSON.stringify({ ok: false, error: wire }), {
      status: HTTP_STATUS_OF[wire.code],
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Access-Control-Allow-Origin': rendererOrigin },
    });
  }
}

/** lsapp://renderer/<path> from the built renderer folder. */
export async function handleAppRequest(rendererDir: string, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const file = url.host === 'renderer' ? await resolveStaticFile(rendererDir, url.pathname) : null;
  if (file === null) return failure(404, `Not found: ${url.pathname.slice(0, 200)}`);
  return new Response(fileBody(file), {
    status: 200,
    headers: {
      'Content-Type': contentTypeFor(file),
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
