// One image file (or a crop of it) to network input pixels, through the on-disk cache.
import type { CropBox } from '../../../src-shared/domain.js';
import { makeInputTransform, type InputTransform, type ResizeMode } from '../../../src-shared/geometry.js';
import { cacheKey, readCachedInput, writeCachedInput } from './cache.js';
import {
  contentHash,
  decodeImageBytes,
  ImageDecodeError,
  orientedSize,
  readImageFile,
  type RgbImage,
} from './decode.js';
import { padInput, renderInput } from './resample.js';

export interface ImageSource {
  path: string;
  /** Region in the file's EXIF-rotated pixels; null/undefined = the whole image. */
  crop?: CropBox | null;
  /**
   * A hash of the file's bytes when already known (the store keeps one): a cache hit then reads
   * nothing else. It must be the current file's, or a stale cached image comes back. Without it,
   * the file is read and hashed (SHA-256).
   */
  hash?: string;
}

export interface PreprocessOptions {
  /** Side of the square network input, pixels. */
  size: number;
  mode: ResizeMode;
  /** Cache folder (the project's cache/); null/undefined = no caching. */
  cacheDir?: string | null;
}

export interface PreprocessedImage {
  /** size x size x 3 RGB, 8-bit, HWC. */
  data: Uint8Array;
  /** Maps points between original pixels and these input pixels. */
  transform: InputTransform;
  /** Size of the whole (EXIF-rotated) original image. */
  imageWidth: number;
  imageHeight: number;
}

/** The same input transform applied to the image after shrinking it by (fx, fy). */
function onShrunkImage(t: InputTransform, fx: number, fy: number): InputTransform {
  return {
    ...t,
    region: { x: t.region.x * fx, y: t.region.y * fy, w: t.region.w * fx, h: t.region.h * fy },
    scaleX: t.scaleX / fx,
    scaleY: t.scaleY / fy,
  };
}

/** Decodes, crops, resizes/letterboxes one image; throws ImageDecodeError naming a broken file. */
export async function preprocessImage(source: ImageSource, options: PreprocessOptions): Promise<PreprocessedImage> {
  const crop = source.crop ?? null;
  const cacheDir = options.cacheDir ?? null;
  let bytes: Buffer | null = null;
  let key: string | null = null;
  if (cacheDir) {
    let hash = source.hash;
    if (!hash) {
      bytes = await readImageFile(source.path);
      hash = await contentHash(bytes);
    }
    key = cacheKey({ contentHash: hash, size: options.size, mode: options.mode, crop });
    const hit = await readCachedInput(cacheDir, key);
    if (hit) return hit;
  }
  bytes ??= await readImageFile(source.path);
  const { width, height } = await orientedSize(bytes, source.path);
  const transform = makeInputTransform({
    imageWidth: width,
    imageHeight: height,
    size: options.size,
    mode: options.mode,
    crop,
  });
  // A reduction of the whole image happens entirely in libvips while decoding (its threads, not
  // this one), with the same antialiased triangle filter as resample.ts (within 0.2 grey levels on
  // the demo frames) and the transform's exact scale, so only the letterbox padding is left here.
  const whole =
    transform.region.x === 0 &&
    transform.region.y === 0 &&
    transform.region.w === width &&
    transform.region.h === height;
  if (whole && transform.contentWidth <= width && transform.contentHeight <= height) {
    const image = await decodeImageBytes(bytes, source.path, {
      width: transform.contentWidth,
      height: transform.contentHeight,
      filter: 'linear',
    });
    checkDecodedSize(image, transform.contentWidth, transform.contentHeight, source.path);
    return cached({ data: padInput(image, transform), transform, imageWidth: width, imageHeight: height });
  }
  // Otherwise large reductions happen in libvips down to twice the final resolution; the exact
  // final resampling (crop boxes may overhang the image) then reads a small image.
  const shrinkX = Math.min(1, 2 * transform.scaleX);
  const shrinkY = Math.min(1, 2 * transform.scaleY);
  const shrinkTo =
    shrinkX < 1 || shrinkY < 1
      ? { width: Math.max(1, Math.round(width * shrinkX)), height: Math.max(1, Math.round(height * shrinkY)) }
      : undefined;
  const image = await decodeImageBytes(bytes, source.path, shrinkTo);
  checkDecodedSize(image, shrinkTo?.width ?? width, shrinkTo?.height ?? height, source.path);
  return cached({
    data: renderInput(
      image,
      shrinkTo ? onShrunkImage(transform, image.width / width, image.height / height) : transform,
    ),
    transform,
    imageWidth: width,
    imageHeight: height,
  });

  async function cached(result: PreprocessedImage): Promise<PreprocessedImage> {
    if (cacheDir && key) await writeCachedInput(cacheDir, key, result);
    return result;
  }
}

function checkDecodedSize(image: RgbImage, width: number, height: number, path: string): void {
  if (image.width !== width || image.height !== height)
    throw new ImageDecodeError(path, `decoded to ${image.width}x${image.height}, expected ${width}x${height}`);
}
