// The neutral structure every label file format is read into and written from. Parsers are pure
// (text in, LabelSet out, or an ImportFormatError): they throw before the caller applies
// anything, so a malformed file imports nothing by construction.
import type { CropBox, Visibility } from '../../../src-shared/domain.js';

/**
 * One point of one item, in the whole file's pixels (0-based, x right, y down), even for crop
 * items. For `absent` points x and y carry no meaning and are 0.
 */
export interface LabeledPoint {
  x: number;
  y: number;
  visibility: Visibility;
}

/** One labeled object: a whole image file, or one instance cut from a file holding several. */
export interface LabelSetItem {
  /** The image as the source file names it (relative path or file name); see matchImageRefs. */
  file: string;
  /** Set only when the file holds several instances; whole pixels, inside the image when known. */
  crop: CropBox | null;
  /** points[k] belongs to keypoints[k]; null = not labeled. */
  points: (LabeledPoint | null)[];
}

export interface LabelSet {
  /** Unique, trimmed, non-empty names in labeling order. */
  keypoints: string[];
  /** Skeleton edges by keypoint name. */
  edges: [string, string][];
  /** Left/right partners swapped by horizontal flips. */
  flipPairs: [string, string][];
  /** Keypoints whose distance normalises the error metric; null = box diagonal. */
  normPair: [string, string] | null;
  items: LabelSetItem[];
}

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * A file that cannot be imported. `line` is the 1-based line a CSV record starts on; `field` is
 * the JSON path (`annotations[3].keypoints[7]`) of the offending value.
 */
export class ImportFormatError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(line !== undefined ? `line ${line}: ${message}` : field !== undefined ? `${field}: ${message}` : message);
    this.name = 'ImportFormatError';
  }
}

/** Where a value sits in its file, for ImportFormatError. */
export interface Where {
  line?: number;
  field?: string;
}

export function formatError(message: string, where: Where): ImportFormatError {
  return new ImportFormatError(message, where.line, where.field);
}

/**
 * A JSON value of the wrong kind, for messages: numbers, booleans and null as they are, other
 * values by their kind only, so no text of the file is repeated (it may not be a label file).
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return 'an object';
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A coordinate from a JSON value: a finite number >= 0, else an ImportFormatError saying what was found. */
export function jsonCoordinate(value: unknown, where: Where, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw formatError(`${what} must be a number, found ${describeValue(value)}`, where);
  if (value < 0) throw formatError(`${what} must not be negative, found ${value}`, where);
  return value;
}

/** A coordinate from a CSV cell: decimal text (no NaN, Infinity or hex) of a number >= 0. */
export function cellCoordinate(cell: string, where: Where, what: string): number {
  const text = cell.trim();
  if (!DECIMAL.test(text)) throw formatError(`${what} must be a number, found ${JSON.stringify(cell)}`, where);
  return jsonCoordinate(Number(text), where, what);
}

/** Keypoint names as the API keeps them: trimmed, non-empty, at most 200 characters, unique. */
export function keypointName(raw: unknown, where: Where, seen: ReadonlySet<string>): string {
  if (typeof raw !== 'string') throw formatError(`keypoint name must be text, found ${describeValue(raw)}`, where);
  const name = raw.trim();
  if (name === '') throw formatError('keypoint name is empty', where);
  if (name.length > 200)
    throw formatError(`keypoint name is longer than 200 characters: "${name.slice(0, 40)}..."`, where);
  if (seen.has(name)) throw formatError(`keypoint "${name}" is named twice`, where);
  return name;
}

/** A pair of keypoint names (edge, flip pair, norm pair) that must both exist and differ. */
export function keypointPair(raw: unknown, keypoints: readonly string[], where: Where, what: string): [string, string] {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'string' || typeof raw[1] !== 'string') {
    throw formatError(`${what} must be a pair of keypoint names, found ${describeValue(raw)}`, where);
  }
  const pair: [string, string] = [raw[0].trim(), raw[1].trim()];
  for (const name of pair) {
    if (!keypoints.includes(name)) throw formatError(`${what} names "${name}", which is not a keypoint`, where);
  }
  if (pair[0] === pair[1]) throw formatError(`${what} joins "${pair[0]}" to itself`, where);
  return pair;
}

/** A keypoint has at most one flip partner (the store keeps a single partner id). */
export function assertOnePartnerEach(flipPairs: readonly [string, string][], field: string): void {
  const partnered = new Set<string>();
  flipPairs.forEach((pair, i) => {
    for (const name of pair) {
      if (partnered.has(name)) throw formatError(`"${name}" already has a flip partner`, { field: `${field}[${i}]` });
      partnered.add(name);
    }
  });
}

/**
 * Checks a set before it is written (it may come from the database rather than a parser), so a
 * formatter never writes a file its own parser would refuse.
 */
export function assertWritable(set: LabelSet): void {
  const names = new Set<string>();
  set.keypoints.forEach((k, i) => {
    if (keypointName(k, { field: `keypoints[${i}]` }, names) !== k)
      throw formatError('has surrounding spaces', { field: `keypoints[${i}]` });
    names.add(k);
  });
  const pairs: [unknown, string][] = [
    ...set.edges.map((e, i): [unknown, string] => [e, `edges[${i}]`]),
    ...set.flipPairs.map((e, i): [unknown, string] => [e, `flipPairs[${i}]`]),
    ...(set.normPair ? [[set.normPair, 'normPair'] as [unknown, string]] : []),
  ];
  for (const [pair, field] of pairs) keypointPair(pair, set.keypoints, { field }, field);
  assertOnePartnerEach(set.flipPairs, 'flipPairs');
  const itemKeys = new Map<string, number>();
  set.items.forEach((item, i) => {
    const key = JSON.stringify([item.file, item.crop && [item.crop.x, item.crop.y, item.crop.w, item.crop.h]]);
    const earlier = itemKeys.get(key);
    if (earlier !== undefined)
      throw formatError(`repeats the file and crop of items[${earlier}]`, { field: `items[${i}]` });
    itemKeys.set(key, i);
    if (item.file === '') throw formatError('file is empty', { field: `items[${i}].file` });
    if (item.points.length !== set.keypoints.length) {
      throw formatError(`has ${item.points.length} points for ${set.keypoints.length} keypoints`, {
        field: `items[${i}].points`,
      });
    }
    item.points.forEach((p, k) => {
      if (p && p.visibility !== 'absent') {
        jsonCoordinate(p.x, { field: `items[${i}].points[${k}].x` }, 'x');
        jsonCoordinate(p.y, { field: `items[${i}].points[${k}].y` }, 'y');
      }
    });
  });
}
