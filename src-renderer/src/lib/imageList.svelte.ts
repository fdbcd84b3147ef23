// The image list under a filter, fetched a page at a time (images.list offset/limit) so 20,000
// images cost only the rows on screen.
import type { ImageFilter, ImageSummary } from '../../../src-shared/domain.js';
import type { Bridge } from './bridge.js';

export const PAGE_SIZE = 200;

/** The server's filters, and 'suggested': the "label these next" images, in suggestion order. */
export type ListFilter = ImageFilter | 'suggested';

export class ImageListModel {
  filter = $state<ListFilter>('all');
  total = $state(0);
  /** Loaded pages by page index; a page is replaced whole so Svelte sees the change. */
  pages = $state<Record<number, ImageSummary[]>>({});
  error = $state<string | null>(null);
  // Bookkeeping, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private readonly pending = new Map<number, Promise<void>>();
  /** Bumped on every reset so answers for an old filter are dropped. */
  private generation = 0;
  /** What 'suggested' lists: given whole (at most a page), not fetched. */
  private suggested: ImageSummary[] = [];

  constructor(private readonly bridge: Bridge) {}

  /** Drops every page and reloads the first one (after a filter change, an import, a copy). */
  async reset(filter: ListFilter = this.filter): Promise<void> {
    this.generation++;
    this.filter = filter;
    this.pages = {};
    this.pending.clear();
    if (filter === 'suggested') {
      this.total = this.suggested.length;
      this.pages = { 0: this.suggested };
      this.error = null;
      return;
    }
    await this.ensurePage(0);
  }

  /** The images the 'suggested' filter lists (shown at the next reset to it). */
  setSuggested(images: ImageSummary[]): void {
    if (images.length > PAGE_SIZE) throw new Error(`at most ${PAGE_SIZE} suggestions fit the list`);
    this.suggested = images;
  }

  itemAt(index: number): ImageSummary | undefined {
    return this.pages[Math.floor(index / PAGE_SIZE)]?.[index % PAGE_SIZE];
  }

  /** Loads the pages covering rows [start, end). */
  async ensureRange(start: number, end: number): Promise<void> {
    const first = Math.floor(Math.max(0, start) / PAGE_SIZE);
    const last = Math.floor(Math.max(0, Math.min(end, this.total) - 1) / PAGE_SIZE);
    const loads: Promise<void>[] = [];
    for (let page = first; page <= last; page++) loads.push(this.ensurePage(page));
    await Promise.all(loads);
  }

  async fetchItem(index: number): Promise<ImageSummary | undefined> {
    if (index < 0 || index >= this.total) return undefined;
    await this.ensurePage(Math.floor(index / PAGE_SIZE));
    return this.itemAt(index);
  }

  /** Row of an image among the loaded pages, or -1. */
  indexOf(imageId: number): number {
    for (const [page, items] of Object.entries(this.pages)) {
      const row = items.findIndex((item) => item.id === imageId);
      if (row >= 0) return Number(page) * PAGE_SIZE + row;
    }
    return -1;
  }

  /** Keeps a row's label count current without refetching (the row keeps its place). */
  updateLabeledCount(imageId: number, labeledCount: number): void {
    const index = this.indexOf(imageId);
    if (index < 0) return;
    const page = Math.floor(index / PAGE_SIZE);
    const items = this.pages[page];
    const item = items?.[index % PAGE_SIZE];
    if (!items || !item || item.labeledCount === labeledCount) return;
    const updated = [...items];
    updated[index % PAGE_SIZE] = { ...item, labeledCount };
    this.pages[page] = updated;
  }

  private ensurePage(page: number): Promise<void> {
    if (this.pages[page] || this.filter === 'suggested') return Promise.resolve();
    const inFlight = this.pending.get(page);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const load = this.bridge
      .call('images.list', { filter: this.filter, offset: page * PAGE_SIZE, limit: PAGE_SIZE })
      .then(({ total, items }) => {
        if (generation !== this.generation) return;
        this.total = total;
        this.pages[page] = items;
        this.error = null;
      })
      .catch((error: unknown) => {
        if (generation === this.generation) this.error = error instanceof Error ? error.message : String(error);
      })
      .finally(() => {
        if (this.pending.get(page) === load) this.pending.delete(page);
      });
    this.pending.set(page, load);
    return load;
  }
}
