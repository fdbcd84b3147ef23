// On-disk cache of descriptor maps, one file per (feature source, image): a header (magic, JSON:
// grid, dim, the image's input transform, the payload's SHA-256) and the map as float16. The
// folder is kept under a size cap by dropping the least recently used entries. A damaged entry is
// deleted and recomputed (reported through `onProblem`); a cache too full for a map (a cap smaller
// than one map) or a disk that refuses the write leaves the map uncached and says so: the cache
// never loses a result.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeFloat16, encodeFloat16 } from '../../../src-shared/float16.js';
import type { InputTransform } from '../../../src-shared/geometry.js';
import type { DescriptorMap } from './descriptors.js';

const MAGIC = 'LSD1';
/** Default cap: 2 GiB, about 450 raw ResNet-18 hypercolumn maps at 48x48 or 8,000 256-D projections. */
export const DEFAULT_DESCRIPTOR_CACHE_BYTES = 2 * 1024 ** 3;

export interface CachedDescriptors {
  map: DescriptorMap;
  /** Original image pixels <-> network input pixels of the image the map was computed on. */
  transform: InputTransform;
}

interface Header {
  width: number;
  height: number;
  dim: number;
  transform: InputTransform;
  sha256: string;
}

export class DescriptorCache {
  constructor(
    readonly dir: string,
    readonly capBytes: number = DEFAULT_DESCRIPTOR_CACHE_BYTES,
    /** Told about damaged entries (deleted, to be recomputed) and writes that could not be made. */
    private readonly onProblem: (message: string) => void = () => {},
  ) {
    if (!(capBytes > 0)) throw new Error(`a descriptor cache needs a positive size cap; got ${capBytes} bytes`);
  }

  /** File of (source, image): `sourceKey` names the features (run, step, settings), `imageKey` the image's content. */
  file(sourceKey: string, imageKey: string): string {
    const key = createHash('sha256').update(`descriptors-v1|${sourceKey}|${imageKey}`).digest('hex');
    return path.join(this.dir, `${key}.lsd`);
  }

  /** The cached map, or null when missing; a damaged entry is deleted, reported, and read as missing. */
  read(sourceKey: string, imageKey: string): CachedDescriptors | null {
    const file = this.file(sourceKey, imageKey);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return null;
    }
    const damage = (why: string): null => {
      fs.rmSync(file, { force: true });
      this.onProblem(`a cached descriptor map was damaged (${why}): deleted, computed again`);
      return null;
    };
    if (bytes.length < 8 || bytes.toString('latin1', 0, 4) !== MAGIC) return damage('not a descriptor cache file');
    const headerLength = bytes.readUInt32LE(4);
    if (8 + headerLength > bytes.length) return damage('header cut short');
    let header: Header;
    try {
      header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Header;
    } catch {
      return damage('header unreadable');
    }
    const payload = bytes.subarray(8 + headerLength);
    const expected = header.width * header.height * header.dim * 2;
    if (!(expected > 0) || payload.length !== expected)
      return damage(`${payload.length} bytes of map where ${expected} were written`);
    if (createHash('sha256').update(payload).digest('hex') !== header.sha256) return damage('checksum mismatch');
    const now = new Date();
    fs.utimesSync(file, now, now); // least recently used goes first
    return {
      map: { width: header.width, height: header.height, dim: header.dim, data: decodeFloat16(payload) },
      transform: header.transform,
    };
  }

  /**
   * Stores a map, first dropping the least recently used entries to stay under the cap. A map
   * larger than the whole cap, or a failed write (disk full, permissions), is reported and left
   * uncached.
   */
  write(sourceKey: string, imageKey: string, entry: CachedDescriptors): void {
    const payload = encodeFloat16(entry.map.data);
    const header = Buffer.from(
      JSON.stringify({
        width: entry.map.width,
        height: entry.map.height,
        dim: entry.map.dim,
        transform: entry.transform,
        sha256: createHash('sha256').update(payload).digest('hex'),
      } satisfies Header),
      'utf8',
    );
    const size = 8 + header.length + payload.length;
    if (size > this.capBytes) {
      this.onProblem(
        `the descriptor cache's cap of ${formatBytes(this.capBytes)} cannot hold one ${entry.map.width}x${entry.map.height}x${entry.map.dim} map (${formatBytes(size)}): it is used uncached (a projection run's descriptors are smaller)`,
      );
      return;
    }
    const file = this.file(sourceKey, imageKey);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      this.evict(size, file);
      const prefix = Buffer.alloc(8);
      prefix.write(MAGIC, 0, 'latin1');
      prefix.writeUInt32LE(header.length, 4);
      fs.writeFileSync(tmp, Buffer.concat([prefix, header, payload]));
      fs.renameSync(tmp, file);
    } catch (err) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // the folder itself is unusable: nothing was written
      }
      this.onProblem(
        `could not cache a descriptor map in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): it is used uncached`,
      );
    }
  }

  /** Total bytes of the entries. */
  size(): number {
    return this.entries().reduce((sum, e) => sum + e.size, 0);
  }

  private entries(): { file: string; size: number; used: number }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.lsd'))
      .flatMap((n) => {
        const file = path.join(this.dir, n);
        try {
          const stat = fs.statSync(file);
          return [{ file, size: stat.size, used: stat.mtimeMs }];
        } catch {
          return [];
        }
      });
  }

  /** Drops the least recently used entries (the one being replaced aside) until `incoming` bytes fit. */
  private evict(incoming: number, replaced: string): void {
    const entries = this.entries().filter((e) => e.file !== replaced);
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total + incoming <= this.capBytes) break;
      fs.rmSync(e.file, { force: true });
      total -= e.size;
    }
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
