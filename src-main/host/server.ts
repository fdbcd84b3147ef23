// The API over plain-Node HTTP, with the built renderer: `landmark-studio serve` (a browser, a
// headless GPU machine) and the end-to-end tests. Routes are src-shared/bridge.ts HTTP_ROUTES.
// Every data route needs the session token; the renderer's static files (no user data) do not,
// so the page can load its scripts; the page reads the token from its own `?token=`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { CONTENT_SECURITY_POLICY, HTTP_ROUTES, type ImageKind, type WireResult } from '../../src-shared/bridge.js';
import type { ProgressHub } from './progress-hub.js';
import { createRenditionResolver } from './rendition.js';
import type { ServedServices } from './served-services.js';
import { contentTypeFor, resolveStaticFile } from './static-files.js';
import { dispatchToWire, HTTP_STATUS_OF, toWireError, type WireError } from './wire.js';

export interface HostOptions {
  services: ServedServices;
  /** Progress events streamed to `GET /events`. */
  progress?: Pick<ProgressHub, 'subscribe'>;
  /** 0 picks a free port. */
  port?: number;
  /** The address or name to bind; requests must name it (or, for a wildcard, this machine) in their Host header. */
  host?: string;
  /** A fixed token (at least 16 characters); a random one otherwise. */
  token?: string;
  /** The built renderer (out/renderer); null serves the API only. */
  rendererDir: string | null;
}

export interface RunningHost {
  /** Base URL, e.g. http://127.0.0.1:4321/ (without the token). */
  url: string;
  token: string;
  close(): Promise<void>;
}

/** API payloads are small (ids, names, coordinates); larger bodies are refused early. */
const MAX_BODY_BYTES = 1024 * 1024;
const MIN_TOKEN_LENGTH = 16;
const SSE_HEARTBEAT_MS = 20_000;

const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // The token travels in image and event URLs: never hand it to another site.
  'Referrer-Policy': 'no-referrer',
};

/** A failure answered before reaching dispatch (auth, size, routing). */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly wire: WireError,
    readonly headers: Record<string, string> = {},
  ) {
    super(wire.message);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time: both sides hashed to equal length first. */
function tokenMatches(expected: Buffer, given: string | null): boolean {
  return given !== null && timingSafeEqual(expected, digest(given));
}

function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

function sendJson(res: ServerResponse, status: number, body: WireResult, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function sendFailure(
  res: ServerResponse,
  status: number,
  error: WireError,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { ok: false, error }, headers);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = new HttpFailure(
    413,
    { code: 'invalid', message: `Request body is larger than the ${maxBytes} bytes allowed.` },
    { Connection: 'close' },
  );
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpFailure(400, {
      code: 'invalid',
      message: `Request body is not valid JSON: ${(error as Error).message}`,
    });
  }
}

/**
 * The host name of `name[:port]` as URLs spell it (lowercase, IPv6 in brackets, no trailing dot),
 * for Host headers and addresses alike; null when it is not one.
 */
function urlHostName(authority: string): string | null {
  if (/[@/\\?#\s]/.test(authority)) return null; // user info or a path: not a bare host[:port]
  try {
    return new URL(`http://${isIPv6(authority) ? `[${authority}]` : authority}/`).hostname.replace(/\.$/, '');
  } catch {
    return null;
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The names a request's Host header may carry: the address the server is bound to and the name
 * it was asked to bind; for loopback, localhost; for a wildcard, every address and the name of
 * this machine. Anything else is a page of another site whose name was re-pointed at this
 * machine (DNS rebinding), which must not reach the API even without reading its answers.
 */
function allowedHostNames(requested: string, bound: string): Set<string> {
  const names = [requested, bound];
  if (isLoopbackAddress(bound) || requested === 'localhost') names.push('localhost', '127.0.0.1', '::1');
  if (isWildcard(bound)) {
    names.push('localhost', hostname());
    for (const entries of Object.values(networkInterfaces()))
      for (const entry of entries ?? []) names.push(entry.address);
  }
  return new Set(names.map(urlHostName).filter((name): name is string => name !== null));
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const { services, progress, port = 0, host = '127.0.0.1', rendererDir } = options;
  if (options.token !== undefined && (options.token.length < MIN_TOKEN_LENGTH || /\s/.test(options.token))) {
    throw new RangeError(`The token must be at least ${MIN_TOKEN_LENGTH} characters without spaces.`);
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const expectedDigest = digest(token);
  const resolveRendition = createRenditionResolver(services);
  const closeStreams = new Set<() => void>();
  /** Set once the server is bound; no request is routed before. */
  let hostNames = new Set<string>();

  function requireToken(req: IncomingMessage, query: URLSearchParams, allowQuery: boolean): void {
    const given = bearerToken(req) ?? (allowQuery ? query.get('token') : null);
    if (!tokenMatches(expectedDigest, given)) {
      throw new HttpFailure(
        401,
        { code: 'invalid', message: 'Missing or wrong token: open the URL printed by `landmark-studio serve`.' },
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
  }

  function requireMethod(req: IncomingMessage, allowed: string[]): void {
    if (!allowed.includes(req.method ?? '')) {
      throw new HttpFailure(
        405,
        { code: 'invalid', message: `${req.method} is not allowed here; use ${allowed.join(' or ')}.` },
        { Allow: allowed.join(', ') },
      );
    }
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    requireMethod(req, ['POST']);
    const payload = parseJsonBody(await readBody(req, MAX_BODY_BYTES));
    const result = await dispatchToWire(services.handlers, method, payload);
    sendJson(res, result.ok ? 200 : HTTP_STATUS_OF[result.error.code], result);
  }

  async function serveImage(req: IncomingMessage, res: ServerResponse, idText: string, kind: ImageKind): Promise<void> {
    requireMethod(req, ['GET', 'HEAD']);
    const rendition = await resolveRendition(idText, kind);
    const headers = {
      ...BASE_HEADERS,
      'Content-Type': rendition.mime,
      ETag: rendition.etag,
      // Ids are reused when another project is opened: always revalidate (cheap 304s).
      'Cache-Control': 'private, no-cache',
    };
    if (req.headers['if-none-match'] === rendition.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': rendition.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(rendition.path), res);
  }

  function serveEvents(req: IncomingMessage, res: ServerResponse): void {
    requireMethod(req, ['GET']);
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    const unsubscribe = progress?.subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`)) ?? (() => {});
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    heartbeat.unref();
    const stop = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      closeStreams.delete(stop);
      res.end();
    };
    closeStreams.add(stop);
    res.on('close', stop);
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void> {
    requireMethod(req, ['GET', 'HEAD']);
    const file = rendererDir === null ? null : await resolveStaticFile(rendererDir, rawPath);
    if (file === null) {
      const message =
        rendererDir === null
          ? 'The user interface is not built: run `npm run build` (or `npm run serve`), then reload.'
          : `Not found: ${rawPath.slice(0, 200)}`;
      throw new HttpFailure(404, { code: 'not_found', message });
    }
    const immutable = rawPath.startsWith('/assets/'); // Vite's content-hashed bundles
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': contentTypeFor(file),
      'Content-Security-Policy': `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`,
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file), res);
  }

  function requireKnownHost(req: IncomingMessage): void {
    const name = req.headers.host === undefined ? null : urlHostName(req.headers.host);
    if (name === null || !hostNames.has(name)) {
      throw new HttpFailure(421, {
        code: 'invalid',
        message: 'Refused: the Host header does not name this server. Open the URL `landmark-studio serve` printed.',
      });
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireKnownHost(req);
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1));

    if (rawPath.startsWith(HTTP_ROUTES.api)) {
      // Bearer header only: a cross-site page cannot send it without a CORS preflight we never allow.
      requireToken(req, query, false);
      return serveApi(req, res, decodeURIComponent(rawPath.slice(HTTP_ROUTES.api.length)));
    }
    for (const [prefix, kind] of [
      [HTTP_ROUTES.image, 'full'],
      [HTTP_ROUTES.thumb, 'thumb'],
    ] as const) {
      if (rawPath.startsWith(prefix)) {
        requireToken(req, query, true);
        return serveImage(req, res, rawPath.slice(prefix.length), kind);
      }
    }
    if (rawPath === HTTP_ROUTES.events) {
      requireToken(req, query, true);
      return serveEvents(req, res);
    }
    return serveStatic(req, res, rawPath);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        // A stream broke mid-way (client gone, file unreadable): nothing more to tell it.
        res.destroy();
        return;
      }
      if (error instanceof HttpFailure) {
        sendFailure(res, error.status, error.wire, error.headers);
        if (error.status === 413) res.on('finish', () => req.destroy());
        return;
      }
      if (error instanceof URIError) {
        sendFailure(res, 400, { code: 'invalid', message: 'Malformed percent-encoding in the URL.' });
        return;
      }
      const wire = toWireError(error, `${req.method} ${(req.url ?? '').split('?')[0]}`);
      sendFailure(res, HTTP_STATUS_OF[wire.code], wire);
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      rejectListen(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} on ${host} is already in use: choose another with --port.`)
          : error,
      );
    });
    server.listen(port, host, () => resolveListen());
  });

  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The HTTP host did not bind a TCP port.');
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  hostNames = allowedHostNames(host, address.address);

  return {
    url: `http://${hostForUrl}:${address.port}/`,
    token,
    close: () =>
      new Promise<void>((resolveClose, rejectClose) => {
        for (const stop of [...closeStreams]) stop();
        server.close((error) => (error ? rejectClose(error) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}
