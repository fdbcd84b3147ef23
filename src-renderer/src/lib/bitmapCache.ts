// Decoded images for the labeling canvas. Decoding a 12-megapixel photo takes longer than a
// frame, so neighbours are decoded ahead (createImageBitmap decodes off the main thread) and the
// last few are kept: switching to a prefetched image only draws.
import { ApiError } from '../../../src-shared/api.js';

export class BitmapCache {
  /** Insertion order is recency order (a Map iterates oldest first). */
  private readonly entries = new Map<string, Promise<ImageBitmap>>();

  constructor(private readonly capacity: number) {}

  load(url: string): Promise<ImageBitmap> {
    const hit = this.entries.get(url);
    if (hit) {
      this.entries.delete(url);
      this.entries.set(url, hit);
      return hit;
    }
    const pending = decode(url);
    this.entries.set(url, pending);
    pending.catch(() => this.entries.delete(url)); // a failure is not cached: the file may be fixed
    this.evict();
    return pending;
  }

  /** Frees every decoded bitmap (the screen using them is gone). */
  clear(): void {
    for (const pending of this.entries.values()) pending.then((bitmap) => bitmap.close()).catch(() => undefined);
    this.entries.clear();
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      const [oldestUrl, oldest] = this.entries.entries().next().value as [string, Promise<ImageBitmap>];
      this.entries.delete(oldestUrl);
      oldest.then((bitmap) => bitmap.close()).catch(() => undefined);
    }
  }
}

async function decode(url: string): Promise<ImageBitmap> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new ApiError('internal', 'Cannot reach the host to load the image.');
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 300);
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // plain-text body: use it as it is
    }
    throw new ApiError(
      response.status === 404 ? 'not_found' : 'internal',
      message || `Image request failed (${response.status}).`,
    );
  }
  const blob = await response.blob();
  try {
    return await createImageBitmap(blob);
  } catch {
    throw new ApiError('invalid', 'The browser could not decode this image.');
  }
}
