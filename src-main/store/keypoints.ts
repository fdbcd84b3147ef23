// The keypoint schema: keypoints (name, colour, labeling order, flip partner), skeleton edges and
// the name-based flip partner proposals the user rejected.
// Rules that need messages for people (unknown ids, confirmations) live in the service; the
// constraints here (unique names, a < b edges, cascades) keep the data whole whatever calls it.
import type Database from 'better-sqlite3';
import type { Keypoint, SkeletonEdge } from '../../src-shared/domain.js';

interface KeypointRow {
  id: number;
  name: string;
  color: string;
  ord: number;
  flip_partner_id: number | null;
}

export class KeypointsStore {
  private readonly listStmt;
  private readonly getStmt;
  private readonly byNameStmt;
  private readonly insertStmt;
  private readonly renameStmt;
  private readonly recolourStmt;
  private readonly setPartnerStmt;
  private readonly clearPartnerOfStmt;
  private readonly setOrderStmt;
  private readonly deleteStmt;
  private readonly labelCountStmt;
  private readonly edgesStmt;
  private readonly edgeStmt;
  private readonly findEdgeStmt;
  private readonly insertEdgeStmt;
  private readonly deleteEdgeStmt;
  private readonly rejectionsStmt;
  private readonly rejectStmt;
  private readonly unrejectStmt;

  constructor(db: Database.Database) {
    this.listStmt = db.prepare<[], KeypointRow>('SELECT * FROM keypoints ORDER BY ord, id');
    this.getStmt = db.prepare<[number], KeypointRow>('SELECT * FROM keypoints WHERE id = ?');
    this.byNameStmt = db.prepare<[string], KeypointRow>('SELECT * FROM keypoints WHERE name = ?');
    this.insertStmt = db.prepare<[string, string]>(
      'INSERT INTO keypoints (name, color, ord) VALUES (?, ?, (SELECT ifnull(max(ord) + 1, 0) FROM keypoints))',
    );
    this.renameStmt = db.prepare<[string, number]>('UPDATE keypoints SET name = ? WHERE id = ?');
    this.recolourStmt = db.prepare<[string, number]>('UPDATE keypoints SET color = ? WHERE id = ?');
    this.setPartnerStmt = db.prepare<[number | null, number]>('UPDATE keypoints SET flip_partner_id = ? WHERE id = ?');
    this.clearPartnerOfStmt = db.prepare<[number]>(
      'UPDATE keypoints SET flip_partner_id = NULL WHERE flip_partner_id = ?',
    );
    this.setOrderStmt = db.prepare<[number, number]>('UPDATE keypoints SET ord = ? WHERE id = ?');
    this.deleteStmt = db.prepare<[number]>('DELETE FROM keypoints WHERE id = ?');
    this.labelCountStmt = db.prepare<[number], { labels: number; images: number }>(
      'SELECT count(*) AS labels, count(DISTINCT image_id) AS images FROM annotations WHERE keypoint_id = ?',
    );
    this.edgesStmt = db.prepare<[], SkeletonEdge>('SELECT id, a, b FROM skeleton_edges ORDER BY id');
    this.edgeStmt = db.prepare<[number], SkeletonEdge>('SELECT id, a, b FROM skeleton_edges WHERE id = ?');
    this.findEdgeStmt = db.prepare<[number, number], SkeletonEdge>(
      'SELECT id, a, b FROM skeleton_edges WHERE a = ? AND b = ?',
    );
    this.insertEdgeStmt = db.prepare<[number, number]>('INSERT INTO skeleton_edges (a, b) VALUES (?, ?)');
    this.deleteEdgeStmt = db.prepare<[number]>('DELETE FROM skeleton_edges WHERE id = ?');
    this.rejectionsStmt = db.prepare<[], { a: number; b: number }>(
      'SELECT a, b FROM flip_pair_rejections ORDER BY a, b',
    );
    this.rejectStmt = db.prepare<[number, number]>('INSERT OR IGNORE INTO flip_pair_rejections (a, b) VALUES (?, ?)');
    this.unrejectStmt = db.prepare<[number, number]>('DELETE FROM flip_pair_rejections WHERE a = ? AND b = ?');
  }

  list(): Keypoint[] {
    return this.listStmt.all().map(toKeypoint);
  }

  get(id: number): Keypoint | undefined {
    const row = this.getStmt.get(id);
    return row && toKeypoint(row);
  }

  /** Names compare case-insensitively. */
  getByName(name: string): Keypoint | undefined {
    const row = this.byNameStmt.get(name);
    return row && toKeypoint(row);
  }

  /** Appends a keypoint at the end of the labeling order; returns its id. */
  add(name: string, color: string): number {
    return Number(this.insertStmt.run(name, color).lastInsertRowid);
  }

  rename(id: number, name: string): void {
    this.renameStmt.run(name, id);
  }

  recolour(id: number, color: string): void {
    this.recolourStmt.run(color, id);
  }

  /** Pairs two distinct keypoints (or unpairs `id` with null), keeping the relation symmetric. */
  setFlipPartner(id: number, partnerId: number | null): void {
    // Free both sides first: each one's old partner points back at it and loses its partner too.
    for (const k of partnerId === null ? [id] : [id, partnerId]) {
      this.clearPartnerOfStmt.run(k);
      this.setPartnerStmt.run(null, k);
    }
    if (partnerId !== null) {
      this.setPartnerStmt.run(partnerId, id);
      this.setPartnerStmt.run(id, partnerId);
    }
  }

  /** Name-based partner proposals the user rejected, as [smaller id, larger id]. */
  rejectedFlipPairs(): [number, number][] {
    return this.rejectionsStmt.all().map((r) => [r.a, r.b]);
  }

  /** Records (or, with `rejected` false, forgets) the rejection of pairing `a` with `b`. */
  setFlipPairRejected(a: number, b: number, rejected: boolean): void {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    (rejected ? this.rejectStmt : this.unrejectStmt).run(lo, hi);
  }

  /** Sets the labeling order to the order of `ids` (which must hold every keypoint once). */
  reorder(ids: readonly number[]): void {
    ids.forEach((id, i) => this.setOrderStmt.run(i, id));
  }

  /** Deletes a keypoint with its labels and edges, then closes the gap in the order. */
  delete(id: number): void {
    this.deleteStmt.run(id);
    this.reorder(this.list().map((k) => k.id));
  }

  labelCount(id: number): { labels: number; images: number } {
    return this.labelCountStmt.get(id) ?? { labels: 0, images: 0 };
  }

  edges(): SkeletonEdge[] {
    return this.edgesStmt.all();
  }

  getEdge(id: number): SkeletonEdge | undefined {
    return this.edgeStmt.get(id);
  }

  findEdge(a: number, b: number): SkeletonEdge | undefined {
    return this.findEdgeStmt.get(Math.min(a, b), Math.max(a, b));
  }

  addEdge(a: number, b: number): number {
    return Number(this.insertEdgeStmt.run(Math.min(a, b), Math.max(a, b)).lastInsertRowid);
  }

  deleteEdge(id: number): void {
    this.deleteEdgeStmt.run(id);
  }
}

function toKeypoint(row: KeypointRow): Keypoint {
  return { id: row.id, name: row.name, color: row.color, order: row.ord, flipPartnerId: row.flip_partner_id };
}
