// What a scan learns about one file: content hash, size after EXIF orientation, orientation, or
// why it cannot be used. Fast by design (the scan must do hundreds of files a second): JPEG and
// PNG headers are parsed in JavaScript (imageHeader.ts), other formats by sharp; pixels are
// decoded only for BMP and TIFF, which have no cheap truncation check. A file whose header is
// sound but whose pixels do not decode is caught when its rendition is first made.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { decode as decodeBmp } from 'bmp-ts';
import sharp from 'sharp';
import { bmpSize, isBmp, MAX_IMAGE_PIXELS } from './imageDecode.js';
import { readImageHeader } from './imageHeader.js';

export interface ImageProbe {
  /** sha1 of the bytes, hex; null when the file could not be read. */
  hash: string | null;
  width: number;
  height: number;
  orientation: number;
  problem: string | null;
}

/** Files up to this size are read once into memory; larger ones are streamed for the hash. */
const IN_MEMORY_LIMIT = 64 * 1024 * 1024;
const HEAD_BYTES = 64 * 1024;

const unusable = (hash: string | null, problem: string): ImageProbe => ({
  hash,
  width: 0,
  height: 0,
  orientation: 1,
  problem,
});

export async function probeImage(file: string): Promise<ImageProbe> {
  let size: number;
  let bytes: Buffer | null = null;
  let head: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      size = (await handle.stat()).size;
      if (size <= IN_MEMORY_LIMIT) bytes = await handle.readFile();
      head = bytes ?? (await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0)).buffer;
    } finally {
      await handle.close();
    }
  } catch (err) {
    return unusable(null, `cannot read the file: ${errorText(err)}`);
  }
  if (size === 0) return unusable(null, 'empty file (0 bytes)');
  let hash: string;
  try {
    hash = bytes ? createHash('sha1').update(bytes).digest('hex') : await hashFile(file);
  } catch (err) {
    return unusable(null, `cannot read the file: ${errorText(err)}`);
  }

  if (isBmp(head)) {
    if (!bytes)
      return unusable(
        hash,
        `BMP files over ${IN_MEMORY_LIMIT / 2 ** 20} MB are not supported: convert it to PNG or TIFF`,
      );
    return probeBmp(bytes, hash);
  }

  const header = bytes && readImageHeader(bytes);
  if (header) {
    if (!header.complete)
      return unusable(hash, `truncated ${header.format.toUpperCase()} (the file ends inside the image data)`);
    return sized(hash, header.width, header.height, header.orientation, null);
  }

  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes ?? file).metadata();
  } catch (err) {
    return unusable(hash, `not an image or an unsupported format (${errorText(err)})`);
  }
  if (!['jpeg', 'png', 'webp', 'tiff'].includes(meta.format)) {
    return unusable(hash, `unsupported format '${meta.format}' (use JPEG, PNG, WebP, BMP or TIFF)`);
  }
  const problem = bytes ? await integrityProblem(meta.format, bytes) : null;
  return sized(hash, meta.width ?? 0, meta.height ?? 0, meta.orientation ?? 1, problem);
}

/** The probe of a readable header: size after orientation, or why the size is unusable. */
function sized(
  hash: string,
  storedWidth: number,
  storedHeight: number,
  orientation: number,
  problem: string | null,
): ImageProbe {
  // Orientations 5-8 turn the image a quarter: stored width and height swap.
  const [width, height] = orientation >= 5 ? [storedHeight, storedWidth] : [storedWidth, storedHeight];
  if (width < 1 || height < 1) return unusable(hash, 'the image has no pixels');
  if (width * height > MAX_IMAGE_PIXELS) {
    return unusable(hash, `too large: ${width}x${height} pixels is over the ${MAX_IMAGE_PIXELS} pixel limit`);
  }
  return { hash, width, height, orientation, problem };
}

async function probeBmp(bytes: Buffer, hash: string): Promise<ImageProbe> {
  let size: { width: number; height: number };
  try {
    size = bmpSize(bytes);
  } catch (err) {
    return unusable(hash, `unreadable BMP header (${errorText(err)})`);
  }
  const checked = sized(hash, size.width, size.height, 1, null);
  if (checked.problem !== null) return checked;
  // A header claiming far more pixels than the bytes can hold (even run-length coded) would make
  // the decoder allocate gigabytes: refuse it before decoding.
  if (size.width * size.height > 64 * bytes.length)
    return unusable(hash, `damaged BMP: ${size.width}x${size.height} pixels cannot fit in ${bytes.length} bytes`);
  try {
    decodeBmp(bytes); // reads every pixel: throws on a file cut short
  } catch (err) {
    return unusable(hash, `unreadable or truncated BMP (${errorText(err)})`);
  }
  return checked;
}

/** Why a file whose header reads fine is still broken (cut short), or null. */
async function integrityProblem(format: string, bytes: Buffer): Promise<string | null> {
  switch (format) {
    // JPEG and PNG reach sharp only when readImageHeader gave up on them.
    case 'jpeg':
      return 'truncated or damaged JPEG (the file ends or breaks before its image data)';
    case 'png':
      return bytes.lastIndexOf('IEND') >= 8 ? null : 'truncated PNG (no IEND chunk)';
    case 'webp':
      return bytes.length >= 12 && bytes.readUInt32LE(4) + 8 <= bytes.length
        ? null
        : 'truncated WebP (shorter than its RIFF size)';
    case 'tiff':
      // No cheap structural check: decode the pixels.
      try {
        await sharp(bytes, { failOn: 'truncated' }).raw().toBuffer();
        return null;
      } catch (err) {
        return `unreadable or truncated TIFF (${errorText(err)})`;
      }
    default:
      return null;
  }
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha1');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
}
