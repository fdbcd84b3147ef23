// Overlay maps (issue 18 point 4): per (run, image, keypoint, kind) a float16 map at feature
// resolution with its value range, the rectangle of the image it spans, and for match maps the
// reference image and point and the match. 2 bytes a cell: per 1,000 images x 10 keypoints, 49 MB
// of 48 x 48 match maps and 87 MB of the heatmap head's 64 x 64 maps (bench/README.md, measured).
// Rows go with their run, image and keypoint (ON DELETE CASCADE). A map whose blob does not hold width x height values is
// reported, never shown half.
import type Database from 'better-sqlite3';
import { decodeFloat16, encodeFloat16 } from '../../src-shared/float16.js';
import type { CropBox, MatchResult, Overlay, OverlayKind } from '../../src-shared/domain.js';

interface OverlayRow {
  id: number;
  run_id: number | null;
  image_id: number;
  keypoint_id: number | null;
  kind: OverlayKind;
  encoding: string;
  width: number;
  height: number;
  data: Buffer;
  created_at: string;
  ref_image_id: number | null;
  ref_x: number | null;
  ref_y: number | null;
  value_min: number | null;
  value_max: number | null;
  bounds: string | null;
  info: string | null;
}

export type OverlayInput = Omit<Overlay, 'id' | 'createdAt' | 'valueMin' | 'valueMax' | 'values'> & {
  /** The map's values, or their float16 bytes as a job encoded them (stored as they are, no round trip). */
  values: ArrayLike<number> | { float16: Uint8Array };
};

/** A stored map that cannot be read back as written. */
export class OverlayDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OverlayDataError';
  }
}

const ENCODING = 'float16';

export class OverlaysStore {
  private readonly insertStmt;
  private readonly deleteSameStmt;
  private readonly getStmt;
  private readonly findStmt;

  constructor(db: Database.Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO overlays (run_id, image_id, keypoint_id, kind, encoding, width, height, data, created_at,
         ref_image_id, ref_x, ref_y, value_min, value_max, bounds, info)
       VALUES (@runId, @imageId, @keypointId, @kind, @encoding, @width, @height, @data, @createdAt,
         @refImageId, @refX, @refY, @valueMin, @valueMax, @bounds, @info)`,
    );
    // One map per (run, image, keypoint, kind, reference image): a new query replaces the old one.
    this.deleteSameStmt = db.prepare(
      `DELETE FROM overlays WHERE run_id IS @runId AND image_id = @imageId AND keypoint_id IS @keypointId
         AND kind = @kind AND ref_image_id IS @refImageId`,
    );
    this.getStmt = db.prepare<[number], OverlayRow>('SELECT * FROM overlays WHERE id = ?');
    this.findStmt = db.prepare<[number | null, number, number | null, string], OverlayRow>(
      `SELECT * FROM overlays WHERE run_id IS ? AND image_id = ? AND keypoint_id IS ? AND kind = ?
       ORDER BY id DESC LIMIT 1`,
    );
  }

  /** Stores a map (replacing the same run's map of that image, keypoint, kind and reference); returns its id. */
  put(overlay: OverlayInput): number {
    const { width, height } = overlay;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
      throw new Error(`an overlay map needs a positive grid size; got ${width}x${height}`);
    const encoded = 'float16' in overlay.values ? overlay.values.float16 : null;
    // decodeFloat16 refuses a cut-short blob (odd length) itself
    const values = encoded ? decodeFloat16(encoded) : (overlay.values as ArrayLike<number>);
    if (values.length !== width * height)
      throw new Error(`an overlay map of ${width}x${height} needs ${width * height} values; got ${values.length}`);
    let valueMin = Infinity;
    let valueMax = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new Error(`overlay map value ${i} is not a finite number (${v})`);
      if (v < valueMin) valueMin = v;
      if (v > valueMax) valueMax = v;
    }
    const row = {
      runId: overlay.runId,
      imageId: overlay.imageId,
      keypointId: overlay.keypointId,
      kind: overlay.kind,
      encoding: ENCODING,
      width,
      height,
      data: encoded
        ? Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length)
        : Buffer.from(encodeFloat16(values)),
      createdAt: new Date().toISOString(),
      refImageId: overlay.reference?.imageId ?? null,
      refX: overlay.reference?.x ?? null,
      refY: overlay.reference?.y ?? null,
      valueMin,
      valueMax,
      bounds: JSON.stringify(overlay.bounds),
      info: overlay.match === null ? null : JSON.stringify(overlay.match),
    };
    this.deleteSameStmt.run(row);
    return Number(this.insertStmt.run(row).lastInsertRowid);
  }

  /** The overlay, or undefined; an OverlayDataError when its stored map is damaged. */
  get(id: number): Overlay | undefined {
    const row = this.getStmt.get(id);
    return row ? toOverlay(row) : undefined;
  }

  /** The newest map of (run, image, keypoint, kind), or undefined. */
  find(runId: number | null, imageId: number, keypointId: number | null, kind: OverlayKind): Overlay | undefined {
    const row = this.findStmt.get(runId, imageId, keypointId, kind);
    return row ? toOverlay(row) : undefined;
  }
}

function toOverlay(row: OverlayRow): Overlay {
  const expected = row.width * row.height * 2;
  if (row.encoding !== ENCODING)
    throw new OverlayDataError(`Overlay ${row.id} is stored as "${row.encoding}", which this version cannot read.`);
  if (row.data.length !== expected) {
    throw new OverlayDataError(
      `Overlay ${row.id}'s map is damaged: ${row.data.length} bytes where its ${row.width}x${row.height} grid needs ${expected}. Compute it again (match again, or predict again).`,
    );
  }
  return {
    id: row.id,
    runId: row.run_id,
    imageId: row.image_id,
    keypointId: row.keypoint_id,
    kind: row.kind,
    width: row.width,
    height: row.height,
    bounds: row.bounds === null ? { x: 0, y: 0, w: 0, h: 0 } : (JSON.parse(row.bounds) as CropBox),
    valueMin: row.value_min ?? 0,
    valueMax: row.value_max ?? 0,
    values: Array.from(decodeFloat16(row.data)),
    reference: row.ref_image_id === null ? null : { imageId: row.ref_image_id, x: row.ref_x ?? 0, y: row.ref_y ?? 0 },
    match: row.info === null ? null : (JSON.parse(row.info) as MatchResult),
    createdAt: row.created_at,
  };
}
