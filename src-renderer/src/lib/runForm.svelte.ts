// What the Pretrain and Train screens share: the run a screen shows (the one chosen in its
// table, else the one computing or waiting, else the newest) with its curves loaded, a debounced
// estimate of what the settings being edited buy, and starting a run through the queue.
import type { ApiRequest } from '../../../src-shared/api.js';
import type { RunEstimate, RunKind, RunRecord } from '../../../src-shared/domain.js';
import { toApiError } from './apiError.js';
import type { Bridge } from './bridge.js';
import { notices } from './notices.svelte.js';
import type { RunsModel } from './runs.svelte.js';

type QueuedRequest = ApiRequest<'runs.start'>;

/** Settings are re-estimated this long after the last edit (a folder is scanned to count its images). */
const ESTIMATE_DEBOUNCE_MS = 300;

export class RunForm {
  estimate = $state<RunEstimate | null>(null);
  estimateError = $state<string | null>(null);
  selectedId = $state<number | null>(null);

  /** Create while the screen initialises: its effects live as long as the screen. */
  constructor(
    private readonly bridge: Bridge,
    private readonly runs: RunsModel,
    private readonly kind: RunKind,
    request: () => QueuedRequest,
  ) {
    $effect(() => {
      const shown = this.shown;
      if (shown && !this.runs.curves[shown.id]) void this.runs.loadCurves(shown.id).catch(() => undefined);
    });
    $effect(() => {
      const asked = request();
      const timer = setTimeout(async () => {
        try {
          this.estimate = await this.bridge.call('runs.estimate', asked);
          this.estimateError = null;
        } catch (error) {
          this.estimate = null;
          this.estimateError = toApiError(error).message;
        }
      }, ESTIMATE_DEBOUNCE_MS);
      return () => clearTimeout(timer);
    });
  }

  /** This screen's runs, newest first. */
  get list(): RunRecord[] {
    return this.runs.runs.filter((r) => r.kind === this.kind).toReversed();
  }

  get shown(): RunRecord | undefined {
    const list = this.list;
    return (
      list.find((r) => r.id === this.selectedId) ??
      list.find((r) => r.status === 'running' || r.status === 'queued') ??
      list[0]
    );
  }

  /** Queues the run and shows it. */
  async start(request: QueuedRequest, what: string): Promise<void> {
    try {
      const { run, position } = await this.bridge.call('runs.start', request);
      this.selectedId = run.id;
      notices.info(position === 0 ? `${what} run ${run.id} started.` : `Run ${run.id} queued (${position} ahead).`);
      await this.runs.refresh();
      await this.runs.loadCurves(run.id);
    } catch (error) {
      notices.error(toApiError(error).message);
    }
  }
}
