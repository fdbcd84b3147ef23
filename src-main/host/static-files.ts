// The built renderer (out/renderer) as static files, for the HTTP host and the Electron app
// protocol: URL path -> file inside the renderer folder, or null. Refuses `..` segments (also
// percent-encoded), absolute and drive paths, NUL bytes and symlinks leading outside.
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { confinedRealpath } from './path-guard.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** `urlPath` is the raw (still percent-encoded) path of the request, e.g. `/assets/index-abc.js`. */
export async function resolveStaticFile(rootDir: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || /^[a-zA-Z]:/.test(s))) return null;
  const relative = segments.length === 0 ? 'index.html' : segments.join(sep);
  const root = resolve(rootDir);
  const real = await confinedRealpath(resolve(root, relative), [root]);
  if (real === null) return null;
  const info = await stat(real);
  return info.isFile() ? real : null;
}
