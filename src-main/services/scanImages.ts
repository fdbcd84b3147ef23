// Scanning an image root: every file with an image extension below it (recursively), probed in
// parallel. Unreadable files come back with a problem; nothing here throws for a bad file.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { ProgressEvent } from '../../src-shared/domain.js';
import type { ScannedFile } from '../store/images.js';
import { IMAGE_EXTENSIONS } from './imageDecode.js';
import { probeImage } from './imageProbe.js';

/** Files probed at once: enough to keep the thread pool's reads and sharp's parsing busy. */
const PARALLEL_PROBES = 16;
const PROGRESS_INTERVAL_MS = 100;

export interface ScanOptions {
  /** Folders below the root to leave out (e.g. the project folder itself), absolute. */
  exclude?: readonly string[];
  onProgress?: (e: ProgressEvent) => void;
}

/** Relative '/'-separated paths of the image files below `root`, sorted; symlinks are listed as problems. */
export async function listImageFiles(
  root: string,
  exclude: readonly string[] = [],
): Promise<{ files: string[]; links: string[] }> {
  const files: string[] = [];
  const links: string[] = [];
  const excluded = new Set(exclude.map((p) => path.resolve(p)));
  const pending = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const abs = path.join(root, rel);
    if (excluded.has(abs)) continue;
    const entries = await readdir(abs, { withFileTypes: true }).catch((err: unknown) => {
      throw new ApiError(
        'invalid',
        `Cannot read the folder ${abs}: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    for (const entry of entries) {
      // Hidden folders hold tool state (.git, .thumbnails), not the user's images.
      if (entry.name.startsWith('.')) continue;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) pending.push(child);
      else if (IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        if (entry.isFile()) files.push(child);
        else if (entry.isSymbolicLink()) links.push(child);
      }
    }
  }
  const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { files: files.sort(byPath), links: links.sort(byPath) };
}

export async function scanImageRoot(root: string, options: ScanOptions = {}): Promise<ScannedFile[]> {
  const { files, links } = await listImageFiles(root, options.exclude);
  const results: ScannedFile[] = new Array(files.length);
  const total = files.length;
  let done = 0;
  let lastReport = 0;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    options.onProgress({ task: 'scan', done, total, message: `Scanning images: ${done} of ${total}` });
  };
  report(true);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const relPath = files[i]!;
      results[i] = { relPath, ...(await probeImage(path.join(root, relPath))) };
      done += 1;
      report(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PROBES, files.length) }, worker));
  report(true);
  const linked = links.map((relPath) => ({
    relPath,
    hash: null,
    width: 0,
    height: 0,
    orientation: 1,
    problem: 'symbolic link: not followed (copy the file into the image folder instead)',
  }));
  return [...results, ...linked].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}
