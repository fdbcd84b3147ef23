import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError, type ApiHandlers } from '../../src-shared/api.js';
import { CONTENT_SECURITY_POLICY } from '../../src-shared/bridge.js';
import { createRenditionResolver, type RenditionResolver } from '../host/rendition.js';
import { APP_ORIGIN } from './channels.js';
import { handleAppRequest, handleImageRequest, PRIVILEGED_SCHEMES } from './protocols.js';

let root: string;
let resolver: RenditionResolver;
let png: Buffer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ls-protocol-'));
  const imageRoot = join(root, 'images');
  mkdirSync(imageRoot);
  mkdirSync(join(root, 'renderer'));
  png = await sharp({ create: { width: 5, height: 4, channels: 3, background: '#00ff00' } })
    .png()
    .toBuffer();
  writeFileSync(join(imageRoot, 'a.png'), png);
  writeFileSync(join(root, 'outside.png'), png);
  writeFileSync(join(root, 'renderer', 'index.html'), '<!doctype html><title>app</title>');
  symlinkSync(join(root, 'outside.png'), join(root, 'renderer', 'escape.png'));
  const files: Record<number, string> = { 1: join(imageRoot, 'a.png'), 2: join(root, 'outside.png') };
  resolver = createRenditionResolver({
    handlers: { 'project.info': () => ({ imageRoot }) } as unknown as ApiHandlers,
    currentProjectDir: () => join(root, 'project'),
    imageRendition: async (imageId) => {
      const path = files[imageId];
      if (!path) throw new ApiError('not_found', `Image ${imageId} does not exist.`);
      return { path, mime: 'image/png' };
    },
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('image protocol', () => {
  it('is registered privileged and secure', () => {
    expect(PRIVILEGED_SCHEMES.find((s) => s.scheme === 'lsimg')?.privileges).toMatchObject({
      standard: true,
      secure: true,
      supportFetchAPI: true,
    });
  });

  it('serves a rendition with its type, readable by the app origin', async () => {
    const res = await handleImageRequest(resolver, new Request('lsimg://full/1'), APP_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true);
  });

  it('refuses ids that do not exist, bad ids, unknown kinds and files outside the image root', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const [url, status] of [
      ['lsimg://full/99', 404],
      ['lsimg://thumb/99', 404],
      ['lsimg://full/0', 400],
      ['lsimg://full/..%2F..%2Fetc%2Fpasswd', 400],
      ['lsimg://other/1', 404],
      ['lsimg://full/2', 404],
    ] as const) {
      const res = await handleImageRequest(resolver, new Request(url), APP_ORIGIN);
      expect(res.status, url).toBe(status);
      expect(await res.json(), url).toMatchObject({ ok: false });
    }
    vi.restoreAllMocks();
  });
});

describe('app protocol', () => {
  it('serves the renderer with the CSP header', async () => {
    const res = await handleAppRequest(join(root, 'renderer'), new Request(`${APP_ORIGIN}/index.html`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await res.text()).toContain('<title>app</title>');
  });

  it('refuses other hosts, traversal and symlinks out of the renderer folder', async () => {
    for (const url of [
      'lsapp://elsewhere/index.html',
      `${APP_ORIGIN}/%2e%2e/outside.png`,
      `${APP_ORIGIN}/escape.png`,
    ]) {
      expect((await handleAppRequest(join(root, 'renderer'), new Request(url))).status, url).toBe(404);
    }
  });
});
