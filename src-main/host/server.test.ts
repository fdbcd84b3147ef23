// The HTTP host's transport rules, over a stand-in for services whose image files and handler
// outcomes the test controls (the host must refuse what services hand it when it is unsafe).
// src-main/cli/cli.test.ts runs the same host over the real services.
import { request as httpRequest } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError, apiMethods, type ApiHandlers } from '../../src-shared/api.js';
import { CONTENT_SECURITY_POLICY, type WireResult } from '../../src-shared/bridge.js';
import type { ProjectInfo } from '../../src-shared/domain.js';
import { createProgressHub } from './progress-hub.js';
import { startHost, type RunningHost } from './server.js';
import type { ServedServices } from './served-services.js';

const SECRET = 'top-secret-outside-content';

let root: string;
let host: RunningHost;
const progress = createProgressHub();
const infoCalls = vi.fn();

/** Image ids the stand-in services map to files (some deliberately unsafe). */
let renditions: Record<number, string>;

function makeServices(imageRoot: string, projectDir: string): ServedServices {
  const notUsed = Object.fromEntries(
    apiMethods.map((method) => [
      method,
      () => {
        throw new Error(`${method} is not used by this test`);
      },
    ]),
  ) as unknown as ApiHandlers;
  const info: ProjectInfo = {
    dir: projectDir,
    name: 'test',
    imageRoot,
    schemaVersion: 1,
    counts: {
      images: 2,
      labeledImages: 0,
      annotations: 0,
      problems: 0,
      keypoints: 0,
      inSplits: 0,
      labeledTrain: 0,
      labeledTest: 0,
    },
  };
  const handlers: ApiHandlers = {
    ...notUsed,
    'project.info': () => {
      infoCalls();
      return info;
    },
    'images.get': (req) => {
      throw new ApiError('not_found', `Image ${req.imageId} does not exist.`);
    },
    'keypoints.delete': () => {
      throw new ApiError('confirm_required', 'Keypoint has 3 labels: confirm to delete them.');
    },
    'history.undo': () => {
      throw new Error('database disk image is malformed at /home/someone/private/path');
    },
    'keypoints.add': async (req) => ({
      keypoints: [{ id: 1, name: req.name, color: req.color ?? '#ff0000', order: 0, flipPartnerId: null }],
      edges: [],
      normPair: null,
      flipProposals: [],
      rejectedFlipPairs: [],
      unpairedSides: [],
    }),
  };
  return {
    handlers,
    currentProjectDir: () => projectDir,
    imageRendition: async (imageId, kind) => {
      const path = renditions[imageId];
      if (path === undefined) throw new ApiError('not_found', `Image ${imageId} does not exist.`);
      return { path: kind === 'thumb' ? join(projectDir, 'cache', 'thumb.jpg') : path, mime: 'image/png' };
    },
  };
}

/** A raw request: the path is sent exactly as given (fetch would normalise `..`). */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(host.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function api(method: string, body: unknown, token: string | null = host.token): Promise<Response> {
  return fetch(`${host.url}api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token === null ? {} : { Authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-host-'));
  const imageRoot = join(root, 'images');
  const projectDir = join(root, 'project');
  const rendererDir = join(root, 'renderer');
  for (const dir of [imageRoot, join(projectDir, 'cache'), join(rendererDir, 'assets')])
    mkdirSync(dir, { recursive: true });
  const png = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  writeFileSync(join(imageRoot, 'a.png'), png);
  writeFileSync(join(projectDir, 'cache', 'thumb.jpg'), png);
  writeFileSync(join(root, 'secret.txt'), SECRET);
  symlinkSync(join(root, 'secret.txt'), join(imageRoot, 'link.png'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Landmark Studio</title>');
  writeFileSync(join(rendererDir, 'assets', 'index-abc.js'), 'console.log(1)');
  symlinkSync(join(root, 'secret.txt'), join(rendererDir, 'leak.txt'));
  renditions = {
    1: join(imageRoot, 'a.png'),
    2: join(root, 'secret.txt'), // outside the image root
    3: join(imageRoot, 'link.png'), // symlink inside pointing outside
    4: join(imageRoot, '..', 'secret.txt'), // `..` leading outside
    5: join(imageRoot, 'missing.png'),
  };
  host = await startHost({ services: makeServices(imageRoot, projectDir), progress, rendererDir });
});

afterAll(async () => {
  await host?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('token', () => {
  it('binds 127.0.0.1 and makes a long random token', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(host.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses API calls without, with a wrong, or with a query token (401)', async () => {
    for (const token of [null, 'x'.repeat(43), `${host.token}x`]) {
      const res = await api('project.info', {}, token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as WireResult).ok).toBe(false);
    }
    const viaQuery = await fetch(`${host.url}api/project.info?token=${host.token}`, { method: 'POST', body: '{}' });
    expect(viaQuery.status).toBe(401);
  });

  it('answers with the bearer token', async () => {
    const res = await api('project.info', {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as WireResult<ProjectInfo>;
    expect(body).toMatchObject({ ok: true, result: { name: 'test' } });
  });

  it('refuses images and events without the token', async () => {
    expect((await fetch(`${host.url}image/1`)).status).toBe(401);
    expect((await fetch(`${host.url}thumb/1?token=wrong`)).status).toBe(401);
    expect((await fetch(`${host.url}events`)).status).toBe(401);
  });

  it('refuses a short fixed token', async () => {
    await expect(startHost({ services: makeServices(root, root), rendererDir: null, token: 'short' })).rejects.toThrow(
      /at least 16 characters/,
    );
  });

  it('uses a fixed token when given one', async () => {
    const token = 'a-fixed-token-for-tests';
    const other = await startHost({ services: makeServices(root, root), rendererDir: null, token });
    try {
      expect(other.token).toBe(token);
      const res = await fetch(`${other.url}api/project.info`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('Host header (DNS rebinding)', () => {
  const port = () => new URL(host.url).port;
  const withHost = (name: string, path = '/api/project.info') =>
    raw(path, {
      method: path.startsWith('/api/') ? 'POST' : 'GET',
      headers: { Host: name, Authorization: `Bearer ${host.token}` },
    });

  it('refuses requests naming another host, on every route, even with the token (421)', async () => {
    infoCalls.mockClear();
    for (const name of [`evil.example:${port()}`, 'evil.example', `127.0.0.1.evil.example:${port()}`, `x@127.0.0.1`]) {
      for (const path of ['/api/project.info', '/', '/index.html', '/image/1?token=' + host.token, '/events']) {
        const res = await withHost(name, path);
        expect(res.status, `${name} ${path}`).toBe(421);
        expect(JSON.parse(res.body), `${name} ${path}`).toMatchObject({ ok: false, error: { code: 'invalid' } });
      }
    }
    expect(infoCalls).not.toHaveBeenCalled();
  });

  it('answers requests naming the bound address or localhost, on any port (an SSH tunnel)', async () => {
    for (const name of [`127.0.0.1:${port()}`, `localhost:${port()}`, 'LOCALHOST.:8080', `[::1]:${port()}`]) {
      expect((await withHost(name)).status, name).toBe(200);
    }
  });

  it("on all interfaces, answers this machine's name and addresses, and refuses others", async () => {
    const wide = await startHost({ services: makeServices(root, root), rendererDir: null, host: '0.0.0.0' });
    try {
      const call = (name: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: new URL(wide.url).port,
              path: '/api/project.info',
              method: 'POST',
              headers: { Host: name, Authorization: `Bearer ${wide.token}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        });
      expect(await call(`${hostname()}:1`)).toBe(200);
      expect(await call('127.0.0.1')).toBe(200);
      expect(await call('attacker.example')).toBe(421);
    } finally {
      await wide.close();
    }
  });
});

describe('API errors', () => {
  it('reports invalid JSON clearly (400)', async () => {
    const res = await api('project.info', '{"oops": ');
    expect(res.status).toBe(400);
    const body = (await res.json()) as WireResult;
    expect(body).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(!body.ok && body.error.message).toMatch(/not valid JSON/);
  });

  it('reports an invalid payload naming the field (400)', async () => {
    const res = await api('images.get', { imageId: -3 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as WireResult;
    expect(!body.ok && body.error.message).toMatch(/images\.get.*imageId/);
  });

  it('reports an unknown method (400)', async () => {
    const res = await api('images.destroyAll', {});
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      ok: false,
      error: { code: 'invalid', message: expect.stringMatching(/Unknown API method/) },
    });
  });

  it('passes a valid payload with defaults filled in to the handler', async () => {
    const res = await api('keypoints.add', { name: '  nose ' });
    expect(await res.json()).toMatchObject({ ok: true, result: { keypoints: [{ name: 'nose', color: '#ff0000' }] } });
  });

  it('maps error codes to statuses', async () => {
    expect((await api('images.get', { imageId: 99 })).status).toBe(404);
    const confirm = await api('keypoints.delete', { id: 1 });
    expect(confirm.status).toBe(409);
    expect(await confirm.json()).toMatchObject({ ok: false, error: { code: 'confirm_required' } });
  });

  it('hides the details of internal errors (500)', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await api('history.undo', {});
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/private|malformed/);
    expect(JSON.parse(text)).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(spy).toHaveBeenCalled(); // logged server-side instead
    spy.mockRestore();
  });

  it('refuses an oversized body (413)', async () => {
    const res = await raw('/api/keypoints.add', {
      method: 'POST',
      headers: { Authorization: `Bearer ${host.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatch(/larger than/);
  });

  it('allows only POST on the API (405)', async () => {
    const res = await fetch(`${host.url}api/project.info`, { headers: { Authorization: `Bearer ${host.token}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('images', () => {
  it('streams a rendition with its type and caching headers', async () => {
    const res = await fetch(`${host.url}image/1?token=${host.token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect((await sharp(bytes).metadata()).width).toBe(8);
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await fetch(`${host.url}image/1?token=${host.token}`, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
  });

  it('serves thumbnails from the project cache', async () => {
    const res = await fetch(`${host.url}thumb/1`, { headers: { Authorization: `Bearer ${host.token}` } });
    expect(res.status).toBe(200);
  });

  it('refuses files outside the image root, through symlinks and `..`', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const id of [2, 3, 4]) {
      const res = await fetch(`${host.url}image/${id}?token=${host.token}`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain(SECRET);
    }
    vi.restoreAllMocks();
  });

  it('answers 404 for unknown ids and missing files', async () => {
    expect((await fetch(`${host.url}image/77?token=${host.token}`)).status).toBe(404);
    expect((await fetch(`${host.url}image/5?token=${host.token}`)).status).toBe(404);
  });

  it('refuses ids that are not positive integers (400)', async () => {
    for (const id of ['0', '-1', '1.5', 'abc', '..%2F..%2Fsecret.txt', '%2e%2e', '99999999999999999999']) {
      const res = await raw(`/image/${id}?token=${host.token}`);
      expect(res.status, id).toBe(400);
      expect(res.body).not.toContain(SECRET);
    }
  });

  it('re-reads the project info only when the project changes or a file falls outside', async () => {
    infoCalls.mockClear();
    await fetch(`${host.url}image/1?token=${host.token}`);
    await fetch(`${host.url}image/1?token=${host.token}`);
    expect(infoCalls).toHaveBeenCalledTimes(0);
  });
});

describe('renderer files', () => {
  it('serves index.html for / with the CSP header', async () => {
    const res = await fetch(host.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(`${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('Landmark Studio');
  });

  it('serves hashed assets as immutable JavaScript', async () => {
    const res = await fetch(`${host.url}assets/index-abc.js`);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
  });

  it('refuses traversal: ../, encoded %2e%2e, absolute paths, backslashes, NUL, symlinks', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2E%2E/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      `/${join(root, 'secret.txt')}`,
      `//${join(root, 'secret.txt')}`,
      '/C:/secret.txt',
      '/index.html%00.js',
      '/leak.txt',
      '/%E0%A4%A',
    ];
    for (const path of attempts) {
      const res = await raw(path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body, path).not.toContain(SECRET);
    }
  });

  it('says the UI is not built when there is no renderer', async () => {
    const bare = await startHost({ services: makeServices(root, root), rendererDir: null });
    try {
      const res = await fetch(bare.url);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/not built/);
    } finally {
      await bare.close();
    }
  });
});

describe('events', () => {
  it('streams progress events as server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${host.url}events?token=${host.token}`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    progress.emit({ task: 'scan', done: 3, total: 10, message: 'a.png' });
    while (!text.includes('a.png')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const dataLine = text.split('\n').find((line) => line.startsWith('data: '));
    expect(JSON.parse(dataLine!.slice(6))).toEqual({ task: 'scan', done: 3, total: 10, message: 'a.png' });
    controller.abort();
  });
});
