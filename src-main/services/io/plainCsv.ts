// The plain CSV: a header, then one row per image and keypoint. Columns (any order, names
// case-insensitive): image, keypoint, x, y, visibility (optional: visible | occluded | absent,
// empty = visible), and optionally crop_x, crop_y, crop_w, crop_h for items cut from a file
// holding several instances. Empty x, y and visibility = not labeled (the row still declares the
// image and the keypoint); absent rows leave x and y empty. Keypoints keep their first-seen order.
import type { CropBox } from '../../../src-shared/domain.js';
import { VISIBILITIES } from '../../../src-shared/domain.js';
import { csvText, readCsv } from './csv.js';
import { assertWritable, cellCoordinate, formatError, keypointName } from './labelSet.js';
import type { LabeledPoint, LabelSet, LabelSetItem } from './labelSet.js';

const REQUIRED = ['image', 'keypoint', 'x', 'y'] as const;
const CROP = ['crop_x', 'crop_y', 'crop_w', 'crop_h'] as const;
const COLUMNS: readonly string[] = [...REQUIRED, 'visibility', ...CROP];

function readHeader(cells: string[], line: number): Map<string, number> {
  const index = new Map<string, number>();
  cells.forEach((raw, j) => {
    const name = raw.trim().toLowerCase();
    if (!COLUMNS.includes(name)) {
      // Not named: until its header is read the file may be anything, and is not echoed.
      throw formatError(
        `column ${j + 1} of the header is not one of ${COLUMNS.join(', ')} (a header row naming the columns is required)`,
        { line },
      );
    }
    if (index.has(name)) throw formatError(`column "${name}" appears twice`, { line });
    index.set(name, j);
  });
  const missing = REQUIRED.filter((c) => !index.has(c));
  if (missing.length)
    throw formatError(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { line });
  const crops = CROP.filter((c) => index.has(c));
  if (crops.length !== 0 && crops.length !== CROP.length)
    throw formatError(`crop columns come as all four of ${CROP.join(', ')}`, { line });
  return index;
}

function readCrop(cell: (c: string) => string, line: number): CropBox | null {
  const cells = CROP.map(cell);
  if (cells.every((c) => c === '')) return null;
  if (cells.some((c) => c === '')) throw formatError('a crop needs all of crop_x, crop_y, crop_w, crop_h', { line });
  const [x, y, w, h] = CROP.map((c, j) => cellCoordinate(cells[j]!, { line }, c)) as [number, number, number, number];
  if (w === 0 || h === 0) throw formatError('crop_w and crop_h must be positive', { line });
  return { x, y, w, h };
}

function readPoint(cell: (c: string) => string, line: number, keypoint: string): LabeledPoint | null {
  const x = cell('x');
  const y = cell('y');
  const raw = cell('visibility');
  const visibility = raw.toLowerCase();
  if (visibility !== '' && !(VISIBILITIES as readonly string[]).includes(visibility)) {
    throw formatError(`visibility must be ${VISIBILITIES.join(', ')} or empty, found "${raw}"`, { line });
  }
  if (visibility === 'absent') {
    if (x !== '' || y !== '')
      throw formatError(`"${keypoint}" is absent but has coordinates: leave x and y empty`, { line });
    return { x: 0, y: 0, visibility: 'absent' };
  }
  if (x === '' && y === '' && visibility === '') return null;
  if (x === '' || y === '')
    throw formatError(`"${keypoint}" needs both x and y (or none, to leave it unlabeled)`, { line });
  return {
    x: cellCoordinate(x, { line }, `"${keypoint}" x`),
    y: cellCoordinate(y, { line }, `"${keypoint}" y`),
    visibility: visibility === 'occluded' ? 'occluded' : 'visible',
  };
}

/** Reads the plain CSV; throws ImportFormatError naming the line on malformed input. */
export function parsePlainCsv(text: string): LabelSet {
  const [header, ...rows] = readCsv(text);
  if (!header)
    throw formatError('the file is empty (a header row image,keypoint,x,y,visibility is required)', { line: 1 });
  const columns = readHeader(header.cells, header.line);

  const keypoints: string[] = [];
  const rowsByItem = new Map<
    string,
    { item: LabelSetItem; lines: Map<string, number>; points: Map<string, LabeledPoint | null> }
  >();
  for (const { line, cells } of rows) {
    if (cells.length !== header.cells.length)
      throw formatError(`has ${cells.length} cells, the header ${header.cells.length}`, { line });
    const cell = (c: string) => {
      const j = columns.get(c);
      return j === undefined ? '' : cells[j]!.trim();
    };
    const file = cells[columns.get('image')!]!;
    if (file.trim() === '') throw formatError('image is empty', { line });
    const keypoint = keypointName(cell('keypoint'), { line }, new Set());
    if (!keypoints.includes(keypoint)) keypoints.push(keypoint);
    const crop = readCrop(cell, line);
    const key = JSON.stringify([file, crop && [crop.x, crop.y, crop.w, crop.h]]);
    const entry = rowsByItem.get(key) ?? { item: { file, crop, points: [] }, lines: new Map(), points: new Map() };
    rowsByItem.set(key, entry);
    const earlier = entry.lines.get(keypoint);
    if (earlier !== undefined)
      throw formatError(`"${keypoint}" of "${file}" is given twice (also line ${earlier})`, { line });
    entry.lines.set(keypoint, line);
    entry.points.set(keypoint, readPoint(cell, line, keypoint));
  }
  const items = [...rowsByItem.values()].map(({ item, points }) => ({
    ...item,
    points: keypoints.map((k) => points.get(k) ?? null),
  }));
  return { keypoints, edges: [], flipPairs: [], normPair: null, items };
}

/**
 * Writes the plain CSV: a row for every item and keypoint (empty cells for unlabeled points), with
 * crop columns only when some item is a crop. Skeleton, flip pairs and norm pair are not written.
 */
export function formatPlainCsv(set: LabelSet): string {
  assertWritable(set);
  const withCrops = set.items.some((item) => item.crop !== null);
  const rows: string[][] = [['image', 'keypoint', 'x', 'y', 'visibility', ...(withCrops ? CROP : [])]];
  for (const item of set.items) {
    const crop = withCrops
      ? item.crop
        ? [item.crop.x, item.crop.y, item.crop.w, item.crop.h].map(String)
        : ['', '', '', '']
      : [];
    set.keypoints.forEach((k, i) => {
      const p = item.points[i];
      const point = !p
        ? ['', '', '']
        : p.visibility === 'absent'
          ? ['', '', 'absent']
          : [String(p.x), String(p.y), p.visibility];
      rows.push([item.file, k, ...point, ...crop]);
    });
  }
  return csvText(rows);
}
