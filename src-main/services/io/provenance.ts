// The provenance export: one row per label with where it came from (source human | accepted |
// corrected) and, for labels made from a prediction, the predicted position and the prediction
// run beside the final one. CSV (a header row) or JSON ({rows}); absent points have no final x/y.
import { csvText } from './csv.js';

export interface ProvenanceRow {
  image: string;
  /** The instance box of an item cut from a file holding several; null for whole images. */
  crop: { x: number; y: number; w: number; h: number } | null;
  keypoint: string;
  predictedX: number | null;
  predictedY: number | null;
  x: number | null;
  y: number | null;
  visibility: string;
  source: string;
  /** The prediction run the label came from (null for human labels). */
  run: number | null;
}

const HEADER = [
  'image',
  'crop_x',
  'crop_y',
  'crop_w',
  'crop_h',
  'keypoint',
  'predicted_x',
  'predicted_y',
  'x',
  'y',
  'visibility',
  'source',
  'run',
];

const cell = (value: number | null | undefined): string => (value === null || value === undefined ? '' : String(value));

export function formatProvenanceCsv(rows: readonly ProvenanceRow[]): string {
  return csvText([
    HEADER,
    ...rows.map((r) => [
      r.image,
      cell(r.crop?.x),
      cell(r.crop?.y),
      cell(r.crop?.w),
      cell(r.crop?.h),
      r.keypoint,
      cell(r.predictedX),
      cell(r.predictedY),
      cell(r.x),
      cell(r.y),
      r.visibility,
      r.source,
      cell(r.run),
    ]),
  ]);
}

export function formatProvenanceJson(rows: readonly ProvenanceRow[]): string {
  return `${JSON.stringify({ rows }, null, 1)}\n`;
}
