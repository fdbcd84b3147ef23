// Undo/redo and audit trail of annotation changes. Every change is a row with the annotation's
// value before and after; rows sharing a group are one undo step. Undo and redo are global (not
// per image): undo reverts the latest 'done' group, redo re-applies the earliest 'undone' one,
// and a new change discards the redo tail (rows stay, marked 'discarded', for the audit).
import type Database from 'better-sqlite3';
import type { AnnotationValue } from './annotations.js';

export interface HistoryChange {
  imageId: number;
  keypointId: number;
  before: AnnotationValue | null;
  after: AnnotationValue | null;
}

/** One undo step's changes, with when it was first made. */
export type TakenStep = HistoryChange[] & { createdAt: string };

interface HistoryRow {
  image_id: number;
  keypoint_id: number;
  before: string | null;
  after: string | null;
  created_at: string;
}

/** A recorded value; rows written before labels kept their provenance have no `predicted`. */
function parseValue(json: string | null): AnnotationValue | null {
  return json === null ? null : { predicted: null, ...(JSON.parse(json) as Omit<AnnotationValue, 'predicted'>) };
}

export class HistoryStore {
  private readonly nextGroupStmt;
  private readonly insertStmt;
  private readonly discardRedoStmt;
  private readonly lastDoneStmt;
  private readonly firstUndoneStmt;
  private readonly groupRowsStmt;
  private readonly setGroupStateStmt;

  constructor(db: Database.Database) {
    this.nextGroupStmt = db.prepare<[], { g: number }>(
      'SELECT ifnull(max(group_id), 0) + 1 AS g FROM annotation_history',
    );
    this.insertStmt = db.prepare(
      `INSERT INTO annotation_history (group_id, image_id, keypoint_id, before, after, created_at)
       VALUES (@groupId, @imageId, @keypointId, @before, @after, @createdAt)`,
    );
    this.discardRedoStmt = db.prepare("UPDATE annotation_history SET state = 'discarded' WHERE state = 'undone'");
    this.lastDoneStmt = db.prepare<[], { g: number }>(
      "SELECT max(group_id) AS g FROM annotation_history WHERE state = 'done'",
    );
    this.firstUndoneStmt = db.prepare<[], { g: number }>(
      "SELECT min(group_id) AS g FROM annotation_history WHERE state = 'undone'",
    );
    this.groupRowsStmt = db.prepare<[number], HistoryRow>(
      'SELECT image_id, keypoint_id, before, after, created_at FROM annotation_history WHERE group_id = ? ORDER BY id',
    );
    this.setGroupStateStmt = db.prepare<[string, number]>('UPDATE annotation_history SET state = ? WHERE group_id = ?');
  }

  /**
   * Records one undo step (call inside the transaction that made the changes). Drops the redo
   * tail first, as any new change does. Changes that changed nothing are left out.
   */
  record(changes: readonly HistoryChange[], createdAt: string): void {
    const real = changes.filter((c) => JSON.stringify(c.before) !== JSON.stringify(c.after));
    if (real.length === 0) return;
    this.discardRedo();
    const groupId = this.nextGroupStmt.get()?.g ?? 1;
    for (const c of real) {
      const before = c.before && JSON.stringify(c.before);
      const after = c.after && JSON.stringify(c.after);
      this.insertStmt.run({ groupId, imageId: c.imageId, keypointId: c.keypointId, before, after, createdAt });
    }
  }

  discardRedo(): void {
    this.discardRedoStmt.run();
  }

  /** Marks the latest done step undone and returns its changes (to revert in reverse order). */
  takeUndo(): TakenStep | null {
    return this.take(this.lastDoneStmt.get()?.g ?? null, 'undone');
  }

  /** Marks the earliest undone step done again and returns its changes (to re-apply in order). */
  takeRedo(): TakenStep | null {
    return this.take(this.firstUndoneStmt.get()?.g ?? null, 'done');
  }

  private take(groupId: number | null, newState: 'done' | 'undone'): TakenStep | null {
    if (groupId === null) return null;
    this.setGroupStateStmt.run(newState, groupId);
    const rows = this.groupRowsStmt.all(groupId);
    const changes = rows.map((r) => ({
      imageId: r.image_id,
      keypointId: r.keypoint_id,
      before: parseValue(r.before),
      after: parseValue(r.after),
    }));
    return Object.assign(changes, { createdAt: rows[0]?.created_at ?? '' });
  }
}
