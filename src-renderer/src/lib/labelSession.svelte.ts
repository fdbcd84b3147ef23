// The image being labeled and every change to its points. Changes show at once (optimistic) and
// go straight to the API; a failed call reloads the image's points from the host and says why.
import type { Annotation, ImageRecord, KeypointSchema, Prediction, Visibility } from '../../../src-shared/domain.js';
import type { BitmapCache } from './bitmapCache.js';
import type { Bridge } from './bridge.js';
import { errorMessage } from './apiError.js';
import { firstUnlabeled, nextUnlabeled, sortedKeypoints, stepKeypoint } from './keypointOrder.js';
import { notices } from './notices.svelte.js';
import { clampTo, type Point, type Region } from './viewport.js';

export interface SessionHooks {
  /** The number of labeled keypoints of an image changed (list rows, progress). */
  labelsChanged(imageId: number, labeledCount: number): void;
  /** Undo or redo showed another image: the list should select it. */
  jumped(imageId: number): void;
}

interface Pixels {
  bitmap: ImageBitmap | null;
  /** Why the rendition could not be had. */
  error: string | null;
  /** The full rendition (else the thumbnail). */
  full: boolean;
}

export class LabelSession {
  image = $state<ImageRecord | null>(null);
  /** Raw: a decoded bitmap must not be proxied. */
  bitmap = $state.raw<ImageBitmap | null>(null);
  /** The bitmap is the thumbnail standing in while the full image decodes. */
  preview = $state(false);
  /** Why the image cannot be shown, or null. */
  imageError = $state<string | null>(null);
  annotations = $state<Annotation[]>([]);
  currentKeypointId = $state<number | null>(null);
  /** O pressed before placing: the next placement of the current keypoint is occluded. */
  occludedArmed = $state(false);
  /** Keyboard placement cursor (image pixels); null while the mouse is used. */
  crosshair = $state<Point | null>(null);
  /**
   * Pre-labels: the predictions of `prelabelRunId` (the newest prediction run) for this image's
   * keypoints that have no label yet; accepted all at once or one by one by dragging.
   */
  prelabelRunId = $state<number | null>(null);
  predictions = $state<Prediction[]>([]);
  prelabels = $derived(this.predictions.filter((p) => !this.annotations.some((a) => a.keypointId === p.keypointId)));
  /** The image shown before this one, the source of "copy previous". */
  previousImageId = $state<number | null>(null);

  // A fresh set per change, never mutated.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  labeled = $derived(new Set(this.annotations.map((a) => a.keypointId)));
  region = $derived<Region | null>(
    this.image ? (this.image.crop ?? { x: 0, y: 0, w: this.image.width, h: this.image.height }) : null,
  );

  private generation = 0;

  constructor(
    private readonly bridge: Bridge,
    private readonly bitmaps: BitmapCache,
    private readonly thumbs: BitmapCache,
    private readonly schema: () => KeypointSchema,
    private readonly hooks: SessionHooks,
  ) {}

  private get ordered() {
    return sortedKeypoints(this.schema().keypoints);
  }

  annotationOf(keypointId: number | null): Annotation | undefined {
    return this.annotations.find((a) => a.keypointId === keypointId);
  }

  /**
   * Shows an image with its points. The full pixels come from the decode cache when they were
   * fetched ahead; otherwise the thumbnail stands in (`preview`) until they are decoded.
   */
  async load(imageId: number): Promise<void> {
    const generation = ++this.generation;
    const full = this.pixels(this.bitmaps, imageId, 'full');
    const thumb = this.pixels(this.thumbs, imageId, 'thumb');
    const [record, predictions] = await Promise.all([
      this.bridge.call('images.get', { imageId }),
      this.loadPredictions(imageId),
    ]);
    if (generation !== this.generation) return;
    const first = record.image.problem ? { bitmap: null, error: null, full: true } : await Promise.race([full, thumb]);
    if (generation !== this.generation) return;
    if (this.image && this.image.id !== imageId) this.previousImageId = this.image.id;
    this.image = record.image;
    this.annotations = record.annotations;
    this.predictions = predictions;
    this.showPixels(record.image.problem, first);
    this.occludedArmed = false;
    if (this.crosshair && this.region) this.crosshair = clampTo(this.region, this.crosshair);
    this.currentKeypointId = firstUnlabeled(this.ordered, this.labeled);
    this.hooks.labelsChanged(imageId, record.annotations.length);
    if (!first.full) {
      const pixels = await full;
      if (generation === this.generation) this.showPixels(record.image.problem, pixels);
    }
  }

  private showPixels(problem: string | null, pixels: Pixels): void {
    // A thumbnail that failed while the full image is still coming shows nothing yet.
    if (!pixels.full && !pixels.bitmap) return;
    this.bitmap = pixels.bitmap;
    this.preview = !pixels.full;
    this.imageError = problem ?? (pixels.full ? pixels.error : null);
  }

  private pixels(cache: BitmapCache, imageId: number, kind: 'full' | 'thumb'): Promise<Pixels> {
    return cache.load(this.bridge.imageUrl(imageId, kind)).then(
      (bitmap) => ({ bitmap, error: null, full: kind === 'full' }),
      (error: unknown) => ({ bitmap: null, error: errorMessage(error), full: kind === 'full' }),
    );
  }

  /** Decodes neighbours ahead (thumbnail and full) so moving to them only draws. */
  prefetch(imageIds: number[]): void {
    for (const id of imageIds) {
      this.thumbs.load(this.bridge.imageUrl(id, 'thumb')).catch(() => undefined);
      this.bitmaps.load(this.bridge.imageUrl(id, 'full')).catch(() => undefined);
    }
  }

  /** Keeps the current keypoint valid after the schema changed. */
  schemaChanged(): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
    const ids = new Set(this.schema().keypoints.map((k) => k.id));
    this.annotations = this.annotations.filter((a) => ids.has(a.keypointId));
    if (this.currentKeypointId === null || !ids.has(this.currentKeypointId)) {
      this.currentKeypointId = firstUnlabeled(this.ordered, this.labeled);
    }
  }

  selectKeypoint(keypointId: number): void {
    this.currentKeypointId = keypointId;
    this.occludedArmed = false;
  }

  stepKeypoint(delta: number): void {
    this.currentKeypointId = stepKeypoint(this.ordered, this.currentKeypointId, delta);
    this.occludedArmed = false;
  }

  /** Places the current keypoint, then moves on to the next keypoint without a point. */
  async place(p: Point): Promise<void> {
    const image = this.image;
    const keypointId = this.currentKeypointId;
    if (!image || keypointId === null || !this.region || this.imageError) return;
    const visibility: Visibility = this.occludedArmed ? 'occluded' : 'visible';
    const at = clampTo(this.region, p);
    this.upsertLocal(keypointId, at.x, at.y, visibility);
    this.occludedArmed = false;
    this.currentKeypointId = nextUnlabeled(this.ordered, this.labeled, keypointId);
    await this.commit(image.id, () =>
      this.bridge.call('annotations.set', { imageId: image.id, keypointId, x: at.x, y: at.y, visibility }),
    );
  }

  async move(keypointId: number, p: Point): Promise<void> {
    const image = this.image;
    const existing = this.annotationOf(keypointId);
    if (!image || !existing || !this.region) return;
    const at = clampTo(this.region, p);
    this.upsertLocal(keypointId, at.x, at.y, existing.visibility);
    await this.commit(image.id, () =>
      this.bridge.call('annotations.set', {
        imageId: image.id,
        keypointId,
        x: at.x,
        y: at.y,
        visibility: existing.visibility,
      }),
    );
  }

  /** O: toggles occluded on a placed point; on an unplaced one, arms the next placement. */
  async toggleOccluded(): Promise<void> {
    const image = this.image;
    const keypointId = this.currentKeypointId;
    if (!image || keypointId === null) return;
    const existing = this.annotationOf(keypointId);
    if (!existing || existing.visibility === 'absent') {
      this.occludedArmed = !this.occludedArmed;
      return;
    }
    const visibility: Visibility = existing.visibility === 'occluded' ? 'visible' : 'occluded';
    this.upsertLocal(keypointId, existing.x, existing.y, visibility);
    await this.commit(image.id, () =>
      this.bridge.call('annotations.setVisibility', { imageId: image.id, keypointId, visibility }),
    );
  }

  /** X: the keypoint is not in this image (pressed again: no answer yet). */
  async toggleAbsent(): Promise<void> {
    const image = this.image;
    const keypointId = this.currentKeypointId;
    if (!image || keypointId === null) return;
    const existing = this.annotationOf(keypointId);
    if (existing?.visibility === 'absent') {
      await this.deletePoint();
      return;
    }
    // An absent point has no position; the last one (or the region's corner) is kept.
    const x = existing?.x ?? this.region?.x ?? 0;
    const y = existing?.y ?? this.region?.y ?? 0;
    this.upsertLocal(keypointId, x, y, 'absent');
    this.occludedArmed = false;
    this.currentKeypointId = nextUnlabeled(this.ordered, this.labeled, keypointId);
    await this.commit(image.id, () =>
      this.bridge.call('annotations.set', { imageId: image.id, keypointId, x, y, visibility: 'absent' }),
    );
  }

  async deletePoint(): Promise<void> {
    const image = this.image;
    const keypointId = this.currentKeypointId;
    if (!image || keypointId === null || !this.annotationOf(keypointId)) return;
    this.annotations = this.annotations.filter((a) => a.keypointId !== keypointId);
    await this.commit(image.id, () => this.bridge.call('annotations.delete', { imageId: image.id, keypointId }));
  }

  async undo(): Promise<void> {
    await this.travel('history.undo', 'Nothing to undo.');
  }

  async redo(): Promise<void> {
    await this.travel('history.redo', 'Nothing to redo.');
  }

  async copyPrevious(): Promise<void> {
    const image = this.image;
    const from = this.previousImageId;
    if (!image) return;
    if (from === null) {
      notices.info('No previous image to copy from: label one image, then move to the next.');
      return;
    }
    try {
      const copied = await this.bridge.call('annotations.copyFrom', { imageId: image.id, fromImageId: from });
      if (copied.length === 0) notices.info('The previous image has no points to copy.');
    } catch (error) {
      notices.error(errorMessage(error));
    }
    await this.reloadAnnotations(image.id);
  }

  private async travel(method: 'history.undo' | 'history.redo', nothing: string): Promise<void> {
    let result;
    try {
      result = await this.bridge.call(method, {});
    } catch (error) {
      notices.error(errorMessage(error));
      return;
    }
    if (!result) {
      notices.info(nothing);
      return;
    }
    if (result.imageId === this.image?.id) {
      await this.reloadAnnotations(result.imageId);
    } else {
      await this.load(result.imageId);
      this.hooks.jumped(result.imageId);
    }
  }

  private upsertLocal(keypointId: number, x: number, y: number, visibility: Visibility): void {
    const image = this.image;
    if (!image) return;
    const existing = this.annotationOf(keypointId);
    const next: Annotation = {
      imageId: image.id,
      keypointId,
      x,
      y,
      visibility,
      source: existing?.source ?? 'human',
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a timestamp, not state
      updatedAt: new Date().toISOString(),
      predicted: existing?.predicted ?? null,
    };
    this.annotations = existing
      ? this.annotations.map((a) => (a.keypointId === keypointId ? next : a))
      : [...this.annotations, next];
  }

  /** Runs a change; afterwards the image's points are the host's (on failure too). */
  private async loadPredictions(imageId: number): Promise<Prediction[]> {
    if (this.prelabelRunId === null) return [];
    try {
      return await this.bridge.call('predictions.list', { runId: this.prelabelRunId, imageId });
    } catch {
      return []; // the run was deleted since: no pre-labels
    }
  }

  /** Accepts every pre-label of the image as labels (source 'accepted', one undo step). */
  async acceptPrelabels(): Promise<void> {
    const image = this.image;
    const runId = this.prelabelRunId;
    if (!image || runId === null || this.prelabels.length === 0) return;
    await this.commit(image.id, async () => {
      const result = await this.bridge.call('review.acceptImage', { runId, imageId: image.id });
      if (this.image?.id === image.id) this.annotations = result.annotations;
    });
  }

  /** A dragged pre-label: a label where it was dropped, the prediction kept beside it ('corrected'). */
  async correctPrelabel(keypointId: number, p: Point): Promise<void> {
    const image = this.image;
    const runId = this.prelabelRunId;
    if (!image || runId === null || !this.region) return;
    const at = clampTo(this.region, p);
    await this.commit(image.id, async () => {
      const label = await this.bridge.call('review.correct', {
        runId,
        imageId: image.id,
        keypointId,
        x: at.x,
        y: at.y,
      });
      if (this.image?.id === image.id)
        this.annotations = [...this.annotations.filter((a) => a.keypointId !== keypointId), label];
    });
  }

  private async commit(imageId: number, change: () => Promise<unknown>): Promise<void> {
    try {
      await change();
      if (this.image?.id === imageId) this.hooks.labelsChanged(imageId, this.annotations.length);
    } catch (error) {
      notices.error(errorMessage(error));
      await this.reloadAnnotations(imageId);
    }
  }

  private async reloadAnnotations(imageId: number): Promise<void> {
    try {
      const annotations = await this.bridge.call('annotations.list', { imageId });
      if (this.image?.id !== imageId) return;
      this.annotations = annotations;
      this.hooks.labelsChanged(imageId, annotations.length);
    } catch (error) {
      notices.error(errorMessage(error));
    }
  }
}
