// On-disk cache of preprocessed network inputs (the project's cache/ folder), so each image is
// decoded and resized once per input size and mode. One file per entry: a small header (magic,
// JSON metadata) followed by the raw 8-bit RGB pixels. Writes go to a temporary file renamed
// into place, so readers (and a crash mid-write) never see half an entry; an unreadable entry is
// treated as missing and rewritten.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CropBox } from '../../../src-shared/domain.js';
import type { InputTransform, ResizeMode } from '../../../src-shared/geometry.js';

const MAGIC = 'LSC1';

export interface CacheKeyParts {
  /** SHA-256 of the image file's bytes. */
  contentHash: string;
  size: number;
  mode: ResizeMode;
  crop: CropBox | null;
}

export interface CachedInput {
  data: Uint8Array;
  transform: InputTransform;
  /** Size of the whole (EXIF-rotated) original image. */
  imageWidth: number;
  imageHeight: number;
}

/** The entry's file name, derived from everything that changes the pixels. */
export function cacheKey(parts: CacheKeyParts): string {
  const crop = parts.crop ? [parts.crop.x, parts.crop.y, parts.crop.w, parts.crop.h].join(',') : 'full';
  return createHash('sha256').update(`input-v1|${parts.contentHash}|${parts.size}|${parts.mode}|${crop}`).digest('hex');
}

function entryPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'inputs', key.slice(0, 2), `${key}.bin`);
}

/** The cached entry, or null when missing or unreadable. */
export async function readCachedInput(cacheDir: string, key: string): Promise<CachedInput | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(entryPath(cacheDir, key));
  } catch {
    return null;
  }
  if (bytes.length < 8 || bytes.toString('latin1', 0, 4) !== MAGIC) return null;
  const headerLength = bytes.readUInt32LE(4);
  if (8 + headerLength > bytes.length) return null;
  try {
    const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Omit<CachedInput, 'data'>;
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset + 8 + headerLength, bytes.length - 8 - headerLength);
    if (data.length !== header.transform.width * header.transform.height * 3) return null;
    return { ...header, data };
  } catch {
    return null;
  }
}

/** Stores an entry atomically (temporary file + rename). */
export async function writeCachedInput(cacheDir: string, key: string, entry: CachedInput): Promise<void> {
  const file = entryPath(cacheDir, key);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const header = Buffer.from(
    JSON.stringify({ transform: entry.transform, imageWidth: entry.imageWidth, imageHeight: entry.imageHeight }),
    'utf8',
  );
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, 4);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, Buffer.concat([prefix, header, entry.data]));
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new Error(`Cannot write the image cache in "${cacheDir}": ${(err as Error).message}`);
  }
}
