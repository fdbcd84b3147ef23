// The project's runs as the Pretrain and Train screens and the status bar see them: the run
// list (refreshed when a run's status changes), each running run's latest progress, and the loss
// curves of the runs a screen shows, kept live from the host's run events.
import type { EngineSummary, ProgressEvent, RunDetails, RunProgress, RunRecord } from '../../../src-shared/domain.js';
import { toApiError } from './apiError.js';
import type { Bridge } from './bridge.js';
import { notices } from './notices.svelte.js';

export type Curves = RunDetails['curves'];

/** The model-vs-baseline scores an evaluation run recorded (evaluateRun.ts summary). */
export interface EvaluationSummary {
  evaluationRunId: number;
  trainRunId: number;
  images: number;
  points: number;
  model: { pixelError: number | null; nme: number | null; pck: number | null; perKeypoint: PerKeypoint };
  baseline: { pixelError: number | null; nme: number | null; pck: number | null; perKeypoint: PerKeypoint };
}
type PerKeypoint = Record<string, { pixelError: number | null; nme: number | null; pck: number | null }>;

export class RunsModel {
  runs = $state<RunRecord[]>([]);
  /** Latest progress of runs computing now, by run id. */
  live = $state<Record<number, RunProgress>>({});
  /** Loss curves of the runs loaded with `loadCurves`, updated point by point while they run. */
  curves = $state<Record<number, Curves>>({});
  engine = $state<EngineSummary | null>(null);
  engineError = $state<string | null>(null);

  /** The newest evaluation of each training run, by training run id. */
  evaluations = $derived(
    Object.fromEntries(
      this.runs
        .filter((r) => r.kind === 'evaluate' && r.status === 'done' && r.metrics)
        .map((r) => {
          const summary = { ...(r.metrics as unknown as EvaluationSummary), evaluationRunId: r.id };
          return [summary.trainRunId, summary];
        }),
    ) as Record<number, EvaluationSummary | undefined>,
  );
  /** Runs waiting in the queue, in order. */
  waiting = $derived(this.runs.filter((r) => r.status === 'queued' && r.request !== null));

  private unsubscribe: (() => void) | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly bridge: Bridge) {}

  /** Starts listening to run events and loads the list and the engine line. */
  connect(): void {
    this.unsubscribe ??= this.bridge.onProgress((event) => this.onEvent(event));
    void this.refresh();
    void this.loadEngine();
  }

  disconnect(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async refresh(): Promise<void> {
    this.refreshing ??= this.bridge
      .call('runs.list', {})
      .then((runs) => {
        this.runs = runs;
      })
      .catch((error: unknown) => notices.error(toApiError(error).message))
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  async loadEngine(): Promise<void> {
    try {
      this.engine = await this.bridge.call('engine.info', {});
      this.engineError = null;
    } catch (error) {
      this.engineError = toApiError(error).message;
    }
  }

  /** Loads a run's stored curves; later points arrive with its events. */
  async loadCurves(runId: number): Promise<void> {
    const details = await this.bridge.call('runs.get', { runId });
    this.curves[runId] = details.curves;
  }

  /** A queue position: 0 computing, n waiting behind n - 1 others (or -1). */
  position(runId: number): number {
    const running = this.runs.some((r) => r.status === 'running' && r.request !== null);
    const index = this.waiting.findIndex((r) => r.id === runId);
    return index < 0 ? -1 : index + (running ? 1 : 0);
  }

  private onEvent(event: ProgressEvent): void {
    const run = event.run;
    if (!run) return;
    const known = this.runs.find((r) => r.id === run.runId);
    if (run.status !== 'running' || known?.status !== 'running') {
      // A status change: the list says what the run is now (and any run it made, e.g. an evaluation).
      delete this.live[run.runId];
      void this.refresh();
    }
    if (run.status === 'running') this.live[run.runId] = { ...this.live[run.runId], ...run };
    const curves = this.curves[run.runId];
    if (run.point && curves) {
      for (const [name, value] of Object.entries(run.point.values)) {
        const series = (curves[name] ??= []);
        if (series.at(-1)?.step !== run.point.step) series.push({ step: run.point.step, value });
      }
    }
  }
}

/** "4:05" or "1h02m" for a number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Seconds between two ISO times (or until now). */
export function elapsedSeconds(from: string | null, to: string | null): number {
  if (!from) return NaN;
  return ((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000;
}
