// Runs (pretraining, training, prediction, evaluation), their step-level metrics, predictions
// and evaluations. The job runner writes these from the parent process as the child reports.
import type Database from 'better-sqlite3';
import type { Prediction, RunKind, RunRecord, RunStatus } from '../../src-shared/domain.js';

interface RunRow {
  id: number;
  kind: RunKind;
  method: string;
  config: string;
  status: RunStatus;
  backend: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  metrics: string | null;
  checkpoint_path: string | null;
  parent_run_id: number | null;
  error: string | null;
  request: string | null;
}

const toRun = (row: RunRow): RunRecord => ({
  id: row.id,
  kind: row.kind,
  method: row.method,
  config: JSON.parse(row.config) as Record<string, unknown>,
  status: row.status,
  backend: row.backend,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as Record<string, unknown>),
  checkpointPath: row.checkpoint_path,
  parentRunId: row.parent_run_id,
  error: row.error,
  request: row.request === null ? null : (JSON.parse(row.request) as Record<string, unknown>),
});

export interface EvaluationRow {
  metric: string;
  value: number;
  perKeypoint: Record<string, number> | null;
}

export class RunsStore {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly startStmt;
  private readonly finishStmt;
  private readonly checkpointStmt;
  private readonly metricStmt;
  private readonly metricsStmt;
  private readonly dropMetricsStmt;
  private readonly clearPredictionsStmt;
  private readonly clearOverlaysStmt;
  private readonly predictionStmt;
  private readonly predictionsStmt;
  private readonly imagePredictionsStmt;
  private readonly evaluationStmt;
  private readonly evaluationsStmt;
  private readonly staleStmt;
  private readonly ownerStmt;
  private readonly unfinishedStmt;
  private readonly enqueueStmt;
  private readonly waitingStmt;
  private readonly requeueStmt;
  private readonly takeStmt;
  private readonly configStmt;
  private readonly deleteStmt;

  constructor(private readonly db: Database.Database) {
    this.insertStmt = db.prepare<[RunKind, string, string, number | null, string]>(
      "INSERT INTO runs (kind, method, config, status, parent_run_id, created_at) VALUES (?, ?, ?, 'queued', ?, ?)",
    );
    this.getStmt = db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?');
    this.listStmt = db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id');
    this.startStmt = db.prepare<[string, string, number]>(
      "UPDATE runs SET status = 'running', backend = ?, started_at = ?, finished_at = NULL, error = NULL WHERE id = ?",
    );
    this.finishStmt = db.prepare<[RunStatus, string, string | null, string | null, number]>(
      'UPDATE runs SET status = ?, finished_at = ?, metrics = coalesce(?, metrics), error = ? WHERE id = ?',
    );
    this.checkpointStmt = db.prepare<[string, number]>('UPDATE runs SET checkpoint_path = ? WHERE id = ?');
    this.metricStmt = db.prepare<[number, number, string, number]>(
      'INSERT OR REPLACE INTO run_metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)',
    );
    this.metricsStmt = db.prepare<[number], { step: number; name: string; value: number }>(
      'SELECT step, name, value FROM run_metrics WHERE run_id = ? ORDER BY name, step',
    );
    this.dropMetricsStmt = db.prepare<[number, number]>('DELETE FROM run_metrics WHERE run_id = ? AND step >= ?');
    this.clearPredictionsStmt = db.prepare<[number]>('DELETE FROM predictions WHERE run_id = ?');
    this.clearOverlaysStmt = db.prepare<[number]>('DELETE FROM overlays WHERE run_id = ?');
    this.predictionStmt = db.prepare<[number, number, number, number, number, number]>(
      'INSERT OR REPLACE INTO predictions (run_id, image_id, keypoint_id, x, y, confidence) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.predictionsStmt = db.prepare<
      [number],
      { image_id: number; keypoint_id: number; x: number; y: number; confidence: number }
    >(
      'SELECT image_id, keypoint_id, x, y, confidence FROM predictions WHERE run_id = ? ORDER BY image_id, keypoint_id',
    );
    this.imagePredictionsStmt = db.prepare<
      [number, number],
      { keypoint_id: number; x: number; y: number; confidence: number }
    >('SELECT keypoint_id, x, y, confidence FROM predictions WHERE run_id = ? AND image_id = ? ORDER BY keypoint_id');
    this.evaluationStmt = db.prepare<[number, string, number, string | null, string]>(
      'INSERT INTO evaluations (run_id, metric, value, per_keypoint, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.evaluationsStmt = db.prepare<[number], { metric: string; value: number; per_keypoint: string | null }>(
      'SELECT metric, value, per_keypoint FROM evaluations WHERE run_id = ? ORDER BY id',
    );
    this.staleStmt = db.prepare<[string, string]>(
      "UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE status IN ('running', 'queued')",
    );
    this.ownerStmt = db.prepare<[number, number]>('UPDATE runs SET owner_pid = ? WHERE id = ?');
    this.unfinishedStmt = db.prepare<[], { id: number; ownerPid: number | null; status: RunStatus }>(
      "SELECT id, owner_pid AS ownerPid, status FROM runs WHERE status IN ('running', 'queued') AND NOT (status = 'queued' AND request IS NOT NULL AND owner_pid IS NULL) ORDER BY id",
    );
    this.enqueueStmt = db.prepare<[RunKind, string, string, number | null, string, string, string]>(
      "INSERT INTO runs (kind, method, config, status, parent_run_id, created_at, request, queued_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
    );
    this.waitingStmt = db.prepare<[], RunRow>(
      "SELECT * FROM runs WHERE status = 'queued' AND request IS NOT NULL AND owner_pid IS NULL ORDER BY queued_at, id",
    );
    this.requeueStmt = db.prepare<[string, string, number]>(
      "UPDATE runs SET status = 'queued', request = ?, queued_at = ?, owner_pid = NULL, finished_at = NULL, error = NULL WHERE id = ?",
    );
    this.takeStmt = db.prepare<[number, number]>(
      "UPDATE runs SET owner_pid = ? WHERE id = ? AND status = 'queued' AND request IS NOT NULL AND owner_pid IS NULL",
    );
    this.configStmt = db.prepare<[string, string, number | null, number]>(
      'UPDATE runs SET config = ?, method = ?, parent_run_id = ? WHERE id = ?',
    );
    this.deleteStmt = db.prepare<[number]>('DELETE FROM runs WHERE id = ?');
  }

  create(run: {
    kind: RunKind;
    method: string;
    config: Record<string, unknown>;
    parentRunId?: number | null;
  }): RunRecord {
    const info = this.insertStmt.run(run.kind, run.method, JSON.stringify(run.config), run.parentRunId ?? null, now());
    return this.require(Number(info.lastInsertRowid));
  }

  /** Adds a run to the persistent queue: status 'queued', no owner, its request kept for when it starts. */
  enqueue(run: {
    kind: RunKind;
    method: string;
    request: Record<string, unknown>;
    parentRunId?: number | null;
  }): RunRecord {
    const request = JSON.stringify(run.request);
    // The request stands in for the config until the run starts and resolves it.
    const at = now();
    const info = this.enqueueStmt.run(run.kind, run.method, request, run.parentRunId ?? null, at, request, at);
    return this.require(Number(info.lastInsertRowid));
  }

  /** Puts an ended run back in the queue (a paused pretraining run resumed) with a new request. */
  requeue(id: number, request: Record<string, unknown>): void {
    this.requeueStmt.run(JSON.stringify(request), now(), id);
  }

  /** Queued runs waiting for the queue (no owner yet), in queue order. */
  waiting(): RunRecord[] {
    return this.waitingStmt.all().map(toRun);
  }

  /** Makes `pid` the owner of a waiting queued run; false when another process took it first. */
  take(id: number, pid: number): boolean {
    return this.takeStmt.run(pid, id).changes === 1;
  }

  /** The resolved configuration of a queued run, known once it starts. */
  setConfig(id: number, run: { method: string; config: Record<string, unknown>; parentRunId: number | null }): void {
    this.configStmt.run(JSON.stringify(run.config), run.method, run.parentRunId, id);
  }

  /** Deletes a run record with its metrics, predictions, evaluations and overlays (cascade). */
  delete(id: number): void {
    this.deleteStmt.run(id);
  }

  get(id: number): RunRecord | undefined {
    const row = this.getStmt.get(id);
    return row ? toRun(row) : undefined;
  }

  require(id: number): RunRecord {
    const run = this.get(id);
    if (!run) throw new Error(`run ${id} does not exist`);
    return run;
  }

  list(): RunRecord[] {
    return this.listStmt.all().map(toRun);
  }

  markRunning(id: number, backend: string): void {
    this.startStmt.run(backend, now(), id);
  }

  finish(
    id: number,
    status: Exclude<RunStatus, 'queued' | 'running'>,
    result: { metrics?: Record<string, unknown>; error?: string } = {},
  ): void {
    this.finishStmt.run(
      status,
      now(),
      result.metrics ? JSON.stringify(result.metrics) : null,
      result.error ?? null,
      id,
    );
  }

  setCheckpoint(id: number, relPath: string): void {
    this.checkpointStmt.run(relPath, id);
  }

  addMetrics(id: number, step: number, values: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(values))
        if (Number.isFinite(value)) this.metricStmt.run(id, step, name, value);
    })();
  }

  /** Drops a run's metrics from `step` on (a resumed run recomputes the steps after its checkpoint). */
  dropMetricsFrom(id: number, step: number): void {
    this.dropMetricsStmt.run(id, step);
  }

  /** Step-level curves by metric name, steps ascending. */
  metrics(id: number): Record<string, { step: number; value: number }[]> {
    const curves: Record<string, { step: number; value: number }[]> = {};
    for (const row of this.metricsStmt.all(id)) (curves[row.name] ??= []).push({ step: row.step, value: row.value });
    return curves;
  }

  /** Adds predictions to a run (replacing its earlier ones of the same image and keypoint), in one transaction. */
  addPredictions(id: number, predictions: Omit<Prediction, 'runId'>[]): void {
    this.db.transaction(() => {
      for (const p of predictions) this.predictionStmt.run(id, p.imageId, p.keypointId, p.x, p.y, p.confidence);
    })();
  }

  /** Removes a run's predictions and the overlay maps stored with them. */
  clearPredictions(id: number): void {
    this.db.transaction(() => {
      this.clearPredictionsStmt.run(id);
      this.clearOverlaysStmt.run(id);
    })();
  }

  predictions(id: number): Prediction[] {
    return this.predictionsStmt.all(id).map((r) => ({
      runId: id,
      imageId: r.image_id,
      keypointId: r.keypoint_id,
      x: r.x,
      y: r.y,
      confidence: r.confidence,
    }));
  }

  /** A run's predictions on one image. */
  predictionsOf(id: number, imageId: number): Prediction[] {
    return this.imagePredictionsStmt.all(id, imageId).map((r) => ({
      runId: id,
      imageId,
      keypointId: r.keypoint_id,
      x: r.x,
      y: r.y,
      confidence: r.confidence,
    }));
  }

  addEvaluations(id: number, rows: EvaluationRow[]): void {
    this.db.transaction(() => {
      const at = now();
      for (const r of rows)
        this.evaluationStmt.run(id, r.metric, r.value, r.perKeypoint ? JSON.stringify(r.perKeypoint) : null, at);
    })();
  }

  evaluations(id: number): EvaluationRow[] {
    return this.evaluationsStmt.all(id).map((r) => ({
      metric: r.metric,
      value: r.value,
      perKeypoint: r.per_keypoint === null ? null : (JSON.parse(r.per_keypoint) as Record<string, number>),
    }));
  }

  /** Records the process that persists the run, so a run it leaves unfinished when it dies can be found. */
  setOwner(id: number, pid: number): void {
    this.ownerStmt.run(pid, id);
  }

  /** Runs still queued or running, with the process that owns them (null: unknown); runs waiting in the queue are not among them. */
  unfinished(): { id: number; ownerPid: number | null; status: RunStatus }[] {
    return this.unfinishedStmt.all();
  }

  /**
   * Marks runs left 'running' or 'queued' by a process that died (the app was killed) as failed,
   * so they can be resumed or discarded. Call when a project is opened by its only user.
   */
  failInterrupted(reason: string): number {
    return this.staleStmt.run(now(), reason).changes;
  }
}

const now = (): string => new Date().toISOString();
