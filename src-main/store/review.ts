// Review of prediction runs: which images of a run were reviewed, the provenance counts of the
// labels a run's predictions became, and the pooled backbone features of a features run.
import type Database from 'better-sqlite3';

export class ReviewStore {
  private readonly markStmt;
  private readonly unmarkStmt;
  private readonly reviewedStmt;
  private readonly provenanceStmt;
  private readonly clearFeaturesStmt;
  private readonly featureStmt;
  private readonly featuresStmt;

  constructor(private readonly db: Database.Database) {
    this.markStmt = db.prepare<[number, number, string]>(
      'INSERT OR IGNORE INTO reviewed_images (run_id, image_id, reviewed_at) VALUES (?, ?, ?)',
    );
    this.unmarkStmt = db.prepare<[number, number]>('DELETE FROM reviewed_images WHERE run_id = ? AND image_id = ?');
    this.reviewedStmt = db.prepare<[number], { image_id: number }>(
      'SELECT image_id FROM reviewed_images WHERE run_id = ?',
    );
    this.provenanceStmt = db.prepare<
      [number],
      { source: string; visibility: string; x: number; y: number; px: number; py: number }
    >(
      `SELECT source, visibility, x, y, predicted_x AS px, predicted_y AS py
       FROM annotations WHERE predicted_run_id = ? AND source IN ('accepted', 'corrected')`,
    );
    this.clearFeaturesStmt = db.prepare<[number]>('DELETE FROM image_features WHERE run_id = ?');
    this.featureStmt = db.prepare<[number, number, Buffer]>(
      'INSERT OR REPLACE INTO image_features (run_id, image_id, vector) VALUES (?, ?, ?)',
    );
    this.featuresStmt = db.prepare<[number], { image_id: number; vector: Buffer }>(
      'SELECT image_id, vector FROM image_features WHERE run_id = ? ORDER BY image_id',
    );
  }

  setReviewed(runId: number, imageId: number, reviewed: boolean, at: string): void {
    if (reviewed) this.markStmt.run(runId, imageId, at);
    else this.unmarkStmt.run(runId, imageId);
  }

  reviewedImages(runId: number): Set<number> {
    return new Set(this.reviewedStmt.all(runId).map((r) => r.image_id));
  }

  /** Standing labels that came from a prediction run, and how far the corrected ones moved. */
  provenance(runId: number): { accepted: number; corrections: number; meanCorrectionDistance: number | null } {
    let accepted = 0;
    let corrections = 0;
    let moved = 0;
    let measured = 0;
    for (const r of this.provenanceStmt.all(runId)) {
      if (r.source === 'accepted') accepted += 1;
      else corrections += 1;
      // An absent point's coordinates mean nothing: it moved, but by no distance.
      if (r.source === 'corrected' && r.visibility !== 'absent') {
        moved += Math.hypot(r.x - r.px, r.y - r.py);
        measured += 1;
      }
    }
    return { accepted, corrections, meanCorrectionDistance: measured ? moved / measured : null };
  }

  /** Replaces a features run's vectors in one transaction. */
  setFeatures(runId: number, features: readonly { imageId: number; vector: Float32Array }[]): void {
    this.db.transaction(() => {
      this.clearFeaturesStmt.run(runId);
      for (const f of features)
        this.featureStmt.run(runId, f.imageId, Buffer.from(f.vector.buffer, f.vector.byteOffset, f.vector.byteLength));
    })();
  }

  features(runId: number): Map<number, Float32Array> {
    return new Map(
      this.featuresStmt.all(runId).map((r) => {
        // A copy: the row's buffer may not be 4-byte aligned.
        const bytes = Uint8Array.from(r.vector);
        return [r.image_id, new Float32Array(bytes.buffer, 0, bytes.byteLength / 4)] as const;
      }),
    );
  }
}
