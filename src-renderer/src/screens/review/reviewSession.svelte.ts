// The review of one prediction run: its images least confident first (review.list), the image
// shown with its predicted points and labels, and the actions a reviewer takes on it (accept the
// image or a point, drag to correct, occluded/absent, undo/redo), each reloading what it changed.
import type {
  KeypointSchema,
  Overlay,
  OverlayKind,
  ReviewFilter,
  ReviewItem,
  ReviewProgress,
  Visibility,
} from '../../../../src-shared/domain.js';
import { errorMessage } from '../../lib/apiError.js';
import type { BitmapCache } from '../../lib/bitmapCache.js';
import type { Bridge } from '../../lib/bridge.js';
import type { CanvasPoint } from '../../lib/labelCanvas.js';
import { notices } from '../../lib/notices.svelte.js';
import type { Point, Region } from '../../lib/viewport.js';

/** Review items fetched per page: the review order is the server's, so the list pages through it. */
const PAGE = 200;

export class ReviewSession {
  runId = $state<number | null>(null);
  filter = $state<ReviewFilter>('all');
  keypointFilter = $state<number | null>(null);
  items = $state<ReviewItem[]>([]);
  total = $state(0);
  index = $state(-1);
  progress = $state<ReviewProgress | null>(null);
  currentKeypointId = $state<number | null>(null);
  bitmap = $state.raw<ImageBitmap | null>(null);
  /** The map shown under the current point: none, the head's heatmap, or the match from a labeled image. */
  overlayKind = $state<'none' | OverlayKind | 'query'>('none');
  /**
   * A person's question "where is this point on the other images": a labeled point of one image,
   * matched live on each image shown with the model's own backbone (matching.match), stored as an
   * overlay and read back from SQLite the next time.
   */
  query = $state<{ imageId: number; keypointId: number; featuresRunId: number } | null>(null);
  computing = $state(false);
  overlay = $state.raw<Overlay | null>(null);
  imageError = $state<string | null>(null);

  item = $derived<ReviewItem | null>(this.items[this.index] ?? null);
  region = $derived<Region | null>(
    this.item ? (this.item.image.crop ?? { x: 0, y: 0, w: this.item.image.width, h: this.item.image.height }) : null,
  );

  private generation = 0;
  /** Counts list reloads, so that only the latest one's list is shown. */
  private listRequest = 0;

  constructor(
    private readonly bridge: Bridge,
    private readonly bitmaps: BitmapCache,
    private readonly schema: () => KeypointSchema,
  ) {}

  /** What the canvas draws: labels as labels, unlabeled predictions as predictions. */
  points(): CanvasPoint[] {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, rebuilt per call
    const byId = new Map(this.schema().keypoints.map((k) => [k.id, k]));
    return (this.item?.points ?? []).flatMap((p): CanvasPoint[] => {
      const k = byId.get(p.keypointId);
      if (!k) return [];
      const base = { keypointId: p.keypointId, name: k.name, color: k.color };
      const prediction: CanvasPoint = {
        ...base,
        x: p.x,
        y: p.y,
        visibility: 'visible',
        predicted: { confidence: p.confidence },
      };
      if (!p.label) return [prediction];
      const label: CanvasPoint = { ...base, x: p.label.x, y: p.label.y, visibility: p.label.visibility };
      // A person's label the model missed: its prediction drawn too, joined to the label by the error.
      const missed = p.label.source === 'human' && p.distance !== null && p.distance > 0.5;
      return missed ? [label, { ...prediction, labelAt: { x: p.label.x, y: p.label.y } }] : [label];
    });
  }

  /**
   * Reads the current point's stored map of `overlayKind` (written by the prediction run; never
   * recomputed here). Missing maps say why in `overlay === null`.
   */
  async loadOverlay(): Promise<void> {
    const item = this.item;
    const keypointId = this.currentKeypointId;
    if (this.overlayKind === 'none' || !item || keypointId === null || this.runId === null) {
      this.overlay = null;
      return;
    }
    const kind = this.overlayKind;
    if (kind === 'query') return this.loadQuery();
    try {
      const overlay = await this.bridge.call('overlays.find', {
        runId: this.runId,
        imageId: item.image.id,
        keypointId,
        kind,
      });
      if (this.item?.image.id === item.image.id && this.currentKeypointId === keypointId && this.overlayKind === kind)
        this.overlay = overlay;
    } catch (error) {
      this.overlay = null;
      notices.error(errorMessage(error));
    }
  }

  /** Asks where the current point (a label of this image) is on the other images. */
  askWhere(featuresRunId: number): void {
    const item = this.item;
    const point = item?.points.find((p) => p.keypointId === this.currentKeypointId);
    if (!item || !point?.label) {
      notices.info('Choose a labeled point first: its match is shown on the other images.');
      return;
    }
    this.query = { imageId: item.image.id, keypointId: point.keypointId, featuresRunId };
    this.overlayKind = 'query';
  }

  private async loadQuery(): Promise<void> {
    const query = this.query;
    const item = this.item;
    if (!query || !item || item.image.id === query.imageId) {
      this.overlay = null;
      return;
    }
    const fromQuery = (o: Overlay | null) =>
      o?.reference?.imageId === query.imageId && o.keypointId === query.keypointId ? o : null;
    try {
      const asked = { runId: query.featuresRunId, imageId: item.image.id, keypointId: query.keypointId };
      let overlay = fromQuery(await this.bridge.call('overlays.find', { ...asked, kind: 'match' }));
      if (!overlay) {
        // Not asked before: computed now (a worker), stored, and read back from SQLite next time.
        this.computing = true;
        const { overlayId } = await this.bridge.call('matching.match', {
          features: query.featuresRunId,
          referenceImageId: query.imageId,
          keypointId: query.keypointId,
          targetImageId: item.image.id,
        });
        overlay = await this.bridge.call('overlays.get', { overlayId });
      }
      if (this.item?.image.id === item.image.id && this.query === query && this.overlayKind === 'query')
        this.overlay = overlay;
    } catch (error) {
      this.overlay = null;
      notices.error(errorMessage(error));
    } finally {
      this.computing = false;
    }
  }

  async open(runId: number): Promise<void> {
    this.runId = runId;
    await this.reload(0);
  }

  /** Reloads the list (a filter changed, or the run) and shows item `at`. */
  async reload(at = this.index): Promise<void> {
    if (this.runId === null) return;
    const request = ++this.listRequest;
    try {
      const page = await this.bridge.call('review.list', {
        runId: this.runId,
        filter: this.filter,
        offset: 0,
        limit: PAGE,
        ...(this.keypointFilter === null ? {} : { keypointId: this.keypointFilter }),
      });
      // A newer reload (the filter changed while this list loaded) answers instead.
      if (request !== this.listRequest) return;
      this.total = page.total;
      await this.refreshProgress();
      await this.show(Math.min(Math.max(at, 0), page.items.length - 1), page.items);
    } catch (error) {
      notices.error(errorMessage(error));
    }
  }

  /** Shows item `index` of `items` (a reloaded list replaces the shown one with its image). */
  async show(index: number, items: ReviewItem[] = this.items): Promise<void> {
    const item = items[index];
    if (!item) {
      this.items = items;
      this.index = -1;
      this.bitmap = null;
      return;
    }
    const generation = ++this.generation;
    // The item and its pixels change together: the new points are never drawn over the old image.
    let bitmap: ImageBitmap | null = null;
    let imageError: string | null = null;
    try {
      bitmap = await this.bitmaps.load(this.bridge.imageUrl(item.image.id, 'full'));
    } catch (error) {
      imageError = errorMessage(error);
    }
    if (generation !== this.generation) return;
    this.items = items;
    this.index = index;
    this.bitmap = bitmap;
    this.imageError = imageError;
    if (!item.points.some((p) => p.keypointId === this.currentKeypointId))
      this.currentKeypointId = item.points[0]?.keypointId ?? null;
    for (const next of [items[index + 1], items[index - 1]])
      if (next) this.bitmaps.load(this.bridge.imageUrl(next.image.id, 'full')).catch(() => undefined);
  }

  next(step: 1 | -1): Promise<void> {
    return this.show(Math.min(Math.max(this.index + step, 0), this.items.length - 1));
  }

  nextPoint(step: 1 | -1): void {
    const points = this.item?.points ?? [];
    const at = points.findIndex((p) => p.keypointId === this.currentKeypointId);
    const next = points[(at + step + points.length) % points.length];
    if (next) this.currentKeypointId = next.keypointId;
  }

  /** Every predicted point of the image becomes a label (human and corrected labels stay). */
  async acceptImage(): Promise<void> {
    const item = this.item;
    if (!item || this.runId === null) return;
    await this.act(async () => {
      const result = await this.bridge.call('review.acceptImage', { runId: this.runId!, imageId: item.image.id });
      notices.info(
        `Accepted ${result.accepted} point${result.accepted === 1 ? '' : 's'}${result.skipped.length ? `; ${result.skipped.length} kept as labeled` : ''}.`,
      );
    });
  }

  async acceptPoint(): Promise<void> {
    const item = this.item;
    const keypointId = this.currentKeypointId;
    if (!item || this.runId === null || keypointId === null) return;
    await this.act(() =>
      this.bridge.call('review.acceptPoint', { runId: this.runId!, imageId: item.image.id, keypointId }),
    );
    this.nextPoint(1);
  }

  /** A dragged point: a label where it was dropped, with the prediction kept beside it. */
  async correct(keypointId: number, at: Point, visibility: Visibility = 'visible'): Promise<void> {
    const item = this.item;
    if (!item || this.runId === null) return;
    this.currentKeypointId = keypointId;
    await this.act(() =>
      this.bridge.call('review.correct', {
        runId: this.runId!,
        imageId: item.image.id,
        keypointId,
        x: at.x,
        y: at.y,
        visibility,
      }),
    );
  }

  /** Occluded or absent, for the current point, at its label or predicted position. */
  async mark(visibility: 'occluded' | 'absent'): Promise<void> {
    const point = this.item?.points.find((p) => p.keypointId === this.currentKeypointId);
    if (!point) return;
    await this.correct(point.keypointId, point.label ?? point, visibility);
  }

  async markReviewed(): Promise<void> {
    const item = this.item;
    if (!item || this.runId === null) return;
    await this.act(() =>
      this.bridge.call('review.markReviewed', { runId: this.runId!, imageId: item.image.id, reviewed: !item.reviewed }),
    );
  }

  async undo(redo = false): Promise<void> {
    await this.act(async () => {
      const result = await this.bridge.call(redo ? 'history.redo' : 'history.undo', {});
      if (!result) notices.info(redo ? 'Nothing to redo.' : 'Nothing to undo.');
    });
  }

  private async refreshProgress(): Promise<void> {
    if (this.runId !== null) this.progress = await this.bridge.call('review.progress', { runId: this.runId });
  }

  /** Runs an action, then reloads the list where it was (the order and filters may have moved it). */
  private async act(action: () => Promise<unknown>): Promise<void> {
    const imageId = this.item?.image.id;
    try {
      await action();
    } catch (error) {
      notices.error(errorMessage(error));
    }
    const keep = this.index;
    await this.reload(keep);
    const found = this.items.findIndex((i) => i.image.id === imageId);
    if (found >= 0 && found !== this.index) await this.show(found);
  }
}
