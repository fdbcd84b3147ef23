// Browser-displayable renditions of images: 'full' for labeling (the original file when a
// browser shows it as it is, else a converted copy with EXIF orientation applied and instance
// crops cut) and 'thumb' (<= 160 px JPEG) for lists. Converted files are made on first request
// (never during the scan) and cached under cache/, keyed by content hash and crop.
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import type { ImageKind } from '../../src-shared/bridge.js';
import type { ImageRecord } from '../../src-shared/domain.js';
import { confinedRealpath, isInside } from './confinedPath.js';
import { browserFormat, sharpFromBytes } from './imageDecode.js';
import { requireImage } from './imagesService.js';
import type { ProjectSession } from './session.js';

export const THUMB_SIZE = 160;
const THUMB_QUALITY = 80;
/** Converted JPEGs for labeling stay close to the original. */
const FULL_JPEG_QUALITY = 95;

export interface Rendition {
  path: string;
  mime: string;
}

export function createRenditions(session: ProjectSession): (imageId: number, kind: ImageKind) => Promise<Rendition> {
  // Concurrent requests for one rendition share one conversion.
  const inFlight = new Map<string, Promise<Rendition>>();

  return async (imageId, kind) => {
    const store = session.require();
    const image = requireImage(store, imageId);
    if (image.problem !== null) {
      throw new ApiError('invalid', `Image ${imageId} (${image.relPath}) cannot be shown: ${image.problem}.`);
    }
    const source = await confinedRealpath(store.settings.require('imageRoot'), image.relPath);
    const original = await asIs(source);
    if (kind === 'full' && original && !image.crop && image.orientation === 1) return original;

    const jpeg = kind === 'thumb' || original?.mime === 'image/jpeg';
    const cropKey = image.crop ? `-${image.crop.x}_${image.crop.y}_${image.crop.w}_${image.crop.h}` : '';
    const folder = path.join(store.cacheDir, kind === 'thumb' ? 'thumbs' : 'full');
    const target = path.join(folder, `${image.hash}${cropKey}.${jpeg ? 'jpg' : 'png'}`);
    if (!/^[0-9a-f]{40}$/.test(image.hash) || !isInside(store.cacheDir, target)) {
      throw new ApiError(
        'internal',
        `Image ${imageId} has a damaged content hash in the database: relink the project.`,
      );
    }
    const rendition = { path: target, mime: jpeg ? 'image/jpeg' : 'image/png' };
    if (await exists(target)) return rendition;

    let pending = inFlight.get(target);
    if (!pending) {
      pending = convert(source, image, kind, target)
        .then(() => rendition)
        .catch((err: unknown) => {
          if (err instanceof ApiError) throw err;
          // The header read fine at scan time but the pixels do not decode: list it as a problem.
          const reason = `unreadable image data (${String(err instanceof Error ? err.message : err).split('\n')[0]})`;
          store.transaction(() => store.images.setProblem(image.relPath, reason));
          throw new ApiError('invalid', `Image ${imageId} (${image.relPath}) cannot be shown: ${reason}.`);
        })
        .finally(() => inFlight.delete(target));
      inFlight.set(target, pending);
    }
    return pending;
  };
}

/** The original file, when a browser shows it without conversion. */
async function asIs(file: string): Promise<Rendition | null> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    const format = browserFormat(buffer.subarray(0, bytesRead));
    return format && { path: file, mime: format.mime };
  } finally {
    await handle.close();
  }
}

async function convert(source: string, image: ImageRecord, kind: ImageKind, target: string): Promise<void> {
  // Orientation first, so the crop box (in oriented pixels) cuts the right region.
  let pipeline = sharpFromBytes(await readFile(source)).rotate();
  if (image.crop) {
    const { x, y, w, h } = image.crop;
    pipeline = pipeline.extract({ left: x, top: y, width: w, height: h });
  }
  if (kind === 'thumb') {
    pipeline = pipeline
      .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: THUMB_QUALITY });
  } else if (target.endsWith('.jpg')) {
    pipeline = pipeline.jpeg({ quality: FULL_JPEG_QUALITY });
  } else {
    pipeline = pipeline.png({ compressionLevel: 3 });
  }
  await mkdir(path.dirname(target), { recursive: true });
  // Written aside then renamed: a reader never sees half a file, even if we are killed.
  const partial = `${target}.${process.pid}.partial`;
  try {
    await pipeline.toFile(partial);
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
