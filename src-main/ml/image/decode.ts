// Decoding image files into plain 8-bit RGB pixels, whatever the file holds: EXIF orientation
// applied (pixels and points are in the rotated image, as users see it), grayscale expanded to
// three channels, alpha composited on black, 16-bit reduced to 8-bit, CMYK and other colour
// spaces converted to sRGB. Decoding runs on sharp's (libuv) threads, off the main thread.
import { webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import sharp from 'sharp';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved: data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A file that cannot be used as an image; the message names the file and the reason. */
export class ImageDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Cannot read image "${path}": ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

/** Reads a file's bytes, turning I/O problems and empty files into ImageDecodeError. */
export async function readImageFile(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new ImageDecodeError(path, reason);
  }
  if (bytes.length === 0) throw new ImageDecodeError(path, 'the file is empty (0 bytes)');
  return bytes;
}

/** SHA-256 of a file's bytes, hex, for cache keys; WebCrypto hashes off the main thread. */
export async function contentHash(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/** Size of the image as shown, i.e. after its EXIF orientation is applied. */
export async function orientedSize(bytes: Uint8Array, path: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(bytes, { failOn: 'truncated' }).metadata();
    if (meta.autoOrient?.width && meta.autoOrient.height) return meta.autoOrient;
    if (meta.width && meta.height) return { width: meta.width, height: meta.height };
    throw new Error('no image size in the file');
  } catch (err) {
    throw decodeError(path, err);
  }
}

function decodeError(path: string, err: unknown): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  const detail = (err as Error).message.replace(/\s+/g, ' ').trim();
  return new ImageDecodeError(
    path,
    /unsupported image format/i.test(detail)
      ? 'not an image (unsupported or unknown format)'
      : `corrupt or truncated image data (${detail})`,
  );
}

/**
 * Decodes encoded image bytes (JPEG, PNG, WebP, TIFF, GIF, AVIF, ...) to RGB. `path` only names
 * the file in errors. Truncated files are errors, not silently grey-filled images.
 *
 * `shrinkTo` makes libvips reduce the (oriented) image to that size while decoding, on its own
 * threads. Only reductions: libvips maps pixel centres exactly when shrinking (measured within
 * 0.01 px), but shifts enlargements by half an output pixel, so enlarging is left to resample.ts.
 */
export async function decodeImageBytes(
  bytes: Uint8Array,
  path: string,
  shrinkTo?: { width: number; height: number; filter?: 'linear' | 'lanczos3' },
): Promise<RgbImage> {
  try {
    let pipeline = sharp(bytes, { failOn: 'truncated' })
      .rotate() // no argument: apply the EXIF orientation
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb');
    // fastShrinkOnLoad off: JPEG's DCT shrink-on-load would round sizes and move pixel centres
    if (shrinkTo)
      pipeline = pipeline.resize(shrinkTo.width, shrinkTo.height, {
        fit: 'fill',
        kernel: shrinkTo.filter ?? 'lanczos3',
        fastShrinkOnLoad: false,
      });
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels after conversion to RGB`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw decodeError(path, err);
  }
}

/** Reads and decodes an image file (see decodeImageBytes). */
export async function decodeImageFile(path: string): Promise<RgbImage> {
  return decodeImageBytes(await readImageFile(path), path);
}
