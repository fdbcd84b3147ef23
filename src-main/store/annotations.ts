// Human labels: one row per (image, keypoint). Coordinates are in the whole file's pixels (after
// EXIF orientation), also for instance crops.
import type Database from 'better-sqlite3';
import type { Annotation } from '../../src-shared/domain.js';

/** An annotation's value, without its key: what history records before and after a change. */
export type AnnotationValue = Omit<Annotation, 'imageId' | 'keypointId'>;

interface AnnotationRow {
  image_id: number;
  keypoint_id: number;
  x: number;
  y: number;
  visibility: Annotation['visibility'];
  source: Annotation['source'];
  updated_at: string;
  predicted_x: number | null;
  predicted_y: number | null;
  predicted_run_id: number | null;
}

function toAnnotation(row: AnnotationRow): Annotation {
  return {
    imageId: row.image_id,
    keypointId: row.keypoint_id,
    x: row.x,
    y: row.y,
    visibility: row.visibility,
    source: row.source,
    updatedAt: row.updated_at,
    predicted:
      row.predicted_run_id === null
        ? null
        : { x: row.predicted_x ?? 0, y: row.predicted_y ?? 0, runId: row.predicted_run_id },
  };
}

export class AnnotationsStore {
  private readonly getStmt;
  private readonly listStmt;
  private readonly allStmt;
  private readonly upsertStmt;
  private readonly deleteStmt;
  private readonly countStmt;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare<[number, number], AnnotationRow>(
      'SELECT * FROM annotations WHERE image_id = ? AND keypoint_id = ?',
    );
    this.listStmt = db.prepare<[number], AnnotationRow>(
      `SELECT a.* FROM annotations a JOIN keypoints k ON k.id = a.keypoint_id
       WHERE a.image_id = ? ORDER BY k.ord, k.id`,
    );
    this.allStmt = db.prepare<[], AnnotationRow>(
      `SELECT a.* FROM annotations a JOIN keypoints k ON k.id = a.keypoint_id
       ORDER BY a.image_id, k.ord, k.id`,
    );
    this.upsertStmt = db.prepare(
      `INSERT INTO annotations (image_id, keypoint_id, x, y, visibility, source, updated_at,
         predicted_x, predicted_y, predicted_run_id)
       VALUES (@imageId, @keypointId, @x, @y, @visibility, @source, @updatedAt,
         @predictedX, @predictedY, @predictedRunId)
       ON CONFLICT (image_id, keypoint_id) DO UPDATE SET
         x = excluded.x, y = excluded.y, visibility = excluded.visibility,
         source = excluded.source, updated_at = excluded.updated_at, predicted_x = excluded.predicted_x,
         predicted_y = excluded.predicted_y, predicted_run_id = excluded.predicted_run_id`,
    );
    this.deleteStmt = db.prepare<[number, number]>('DELETE FROM annotations WHERE image_id = ? AND keypoint_id = ?');
    this.countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM annotations');
  }

  get(imageId: number, keypointId: number): Annotation | undefined {
    const row = this.getStmt.get(imageId, keypointId);
    return row && toAnnotation(row);
  }

  /** An image's annotations in the keypoints' labeling order. */
  listForImage(imageId: number): Annotation[] {
    return this.listStmt.all(imageId).map(toAnnotation);
  }

  /** Every annotation, grouped by image, each image's in labeling order. */
  all(): Annotation[] {
    return this.allStmt.all().map(toAnnotation);
  }

  /** Writes `value` at (imageId, keypointId), or deletes the annotation when `value` is null. */
  put(imageId: number, keypointId: number, value: AnnotationValue | null): void {
    if (value === null) this.deleteStmt.run(imageId, keypointId);
    else {
      const { predicted, ...rest } = value;
      this.upsertStmt.run({
        imageId,
        keypointId,
        ...rest,
        predictedX: predicted?.x ?? null,
        predictedY: predicted?.y ?? null,
        predictedRunId: predicted?.runId ?? null,
      });
    }
  }

  count(): number {
    return this.countStmt.get()?.n ?? 0;
  }
}
