// "Label these next" (rule in docs/methods.md): unlabeled images spread over a training run's
// feature space, mixed with low confidence. A run's features are a queued run of their own; when
// they are missing the request starts it, and `poll` (called from an effect that reads the runs)
// asks again once it is done.
import type { Suggestion } from '../../../src-shared/domain.js';
import { errorMessage } from './apiError.js';
import type { Bridge } from './bridge.js';
import { notices } from './notices.svelte.js';
import type { RunsModel } from './runs.svelte.js';

export class SuggestionsModel {
  items = $state<Suggestion[]>([]);
  /** The training run whose features are computing before it can suggest. */
  waitingFor = $state<number | null>(null);
  /** A request is being answered. */
  busy = $state(false);

  constructor(
    private readonly bridge: Bridge,
    private readonly runs: RunsModel,
    private readonly count: number,
  ) {}

  private featuresOf(trainRunId: number) {
    return this.runs.runs.find(
      (r) => r.kind === 'features' && r.parentRunId === trainRunId && r.status !== 'cancelled',
    );
  }

  /** Suggests from `trainRunId`'s features, computing them first when they are missing. */
  async request(trainRunId: number): Promise<void> {
    const features = this.featuresOf(trainRunId);
    this.busy = true;
    try {
      if (!features || features.status === 'failed') {
        await this.bridge.call('runs.start', { kind: 'features', settings: { runId: trainRunId } });
        this.waitingFor = trainRunId;
        await this.runs.refresh();
      } else if (features.status !== 'done') {
        this.waitingFor = trainRunId;
      } else {
        this.items = await this.bridge.call('review.suggest', { runId: trainRunId, count: this.count });
      }
    } catch (error) {
      notices.error(errorMessage(error));
    } finally {
      this.busy = false;
    }
  }

  /** Suggests once the awaited features are done (reads the runs: call it from an effect). */
  poll(): void {
    const trainRunId = this.waitingFor;
    if (trainRunId === null || this.featuresOf(trainRunId)?.status !== 'done') return;
    this.waitingFor = null;
    void this.request(trainRunId);
  }
}
