// DeepLabCut labeled-data CSV (labeled-data/<video>/CollectedData_<scorer>.csv) and the keypoint
// order and skeleton of its project's config.yaml. Header rows: scorer, [individuals,] bodyparts,
// coords (x, y); then one row per image, referenced in one index column
// (labeled-data/<video>/img.png) or three (labeled-data, <video>, img.png); empty cells = not
// labeled. DeepLabCut has no occlusion flag: every labeled point is visible.
import { parse as parseYaml } from 'yaml';
import { csvText, readCsv } from './csv.js';
import type { CsvRecord } from './csv.js';
import { itemsFromInstances } from './instanceCrop.js';
import type { Instance } from './instanceCrop.js';
import { assertWritable, cellCoordinate, formatError, keypointName, keypointPair } from './labelSet.js';
import type { LabeledPoint, LabelSet, LabelSetItem } from './labelSet.js';

export interface DlcParseOptions {
  /** Text of the project's config.yaml: keypoint order (bodyparts) and skeleton. */
  configYaml?: string;
}

export interface DlcFormatOptions {
  /** Written in the `scorer` header row; DeepLabCut names the file CollectedData_<scorer>.csv. */
  scorer: string;
}

/** multi-animal DeepLabCut keeps bodyparts that exist once per image under this individual. */
const UNIQUE_INDIVIDUAL = 'single';

interface DlcConfig {
  bodyparts: string[];
  skeleton: unknown[];
}

function readConfig(yamlText: string): DlcConfig {
  const field = (path: string) => ({ field: `config.yaml ${path}` });
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (e) {
    // The parser's message quotes the text (the file may be anything): only where and its error code.
    const { code, linePos } = e as { code?: string; linePos?: { line: number; col: number }[] };
    const where = linePos?.[0] ? `line ${linePos[0].line}, column ${linePos[0].col}: ` : '';
    const what = code ? code.toLowerCase().replaceAll('_', ' ') : 'unreadable';
    throw formatError(`is not valid YAML (${where}${what})`, { field: 'config.yaml' });
  }
  if (typeof doc !== 'object' || doc === null)
    throw formatError('is not a DeepLabCut project config', { field: 'config.yaml' });
  const cfg = doc as Record<string, unknown>;
  const key = cfg.multianimalproject === true ? 'multianimalbodyparts' : 'bodyparts';
  const list = cfg[key];
  if (!Array.isArray(list)) throw formatError(`must be a list of bodypart names`, field(key));
  const bodyparts: string[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const name = keypointName(raw, field(`${key}[${i}]`), seen);
    seen.add(name);
    bodyparts.push(name);
  });
  const skeleton = cfg.skeleton ?? [];
  if (!Array.isArray(skeleton)) throw formatError('must be a list of [bodypart, bodypart] pairs', field('skeleton'));
  return { bodyparts, skeleton };
}

interface Header {
  indexColumns: number;
  /** Data column -> (individual, bodypart, coord). */
  columns: { individual: string; bodypart: string; coord: 'x' | 'y' }[];
  dataStart: number;
}

function readHeader(records: CsvRecord[]): Header {
  const first = records[0];
  if (!first || first.cells[0] !== 'scorer') {
    throw formatError('a DeepLabCut CSV starts with a "scorer" row', { line: first?.line ?? 1 });
  }
  let indexColumns = 1;
  while (indexColumns < first.cells.length && first.cells[indexColumns] === '') indexColumns++;
  const width = first.cells.length;
  if (indexColumns >= width) throw formatError('the scorer row names no scorer', { line: first.line });

  const multi = records[1]?.cells[0] === 'individuals';
  const labels = multi ? ['scorer', 'individuals', 'bodyparts', 'coords'] : ['scorer', 'bodyparts', 'coords'];
  labels.forEach((label, r) => {
    const rec = records[r];
    if (!rec || rec.cells[0] !== label) {
      throw formatError(`expected the "${label}" header row`, { line: rec?.line ?? first.line + r });
    }
    if (rec.cells.length !== width)
      throw formatError(`has ${rec.cells.length} cells, the scorer row ${width}`, { line: rec.line });
    if (rec.cells.slice(1, indexColumns).some((c) => c !== '')) {
      throw formatError(`the first ${indexColumns} cells of header rows belong to the image index and must be empty`, {
        line: rec.line,
      });
    }
  });
  const row = (label: string) => records[labels.indexOf(label)]!;
  const columns: Header['columns'] = [];
  for (let j = indexColumns; j < width; j++) {
    const coord = row('coords').cells[j]!;
    if (coord !== 'x' && coord !== 'y') {
      const hint =
        coord === 'likelihood'
          ? ' (this is a prediction file; import labeled-data/<video>/CollectedData_<scorer>.csv)'
          : '';
      throw formatError(`column ${j + 1}: coords must be x or y, found "${coord}"${hint}`, {
        line: row('coords').line,
      });
    }
    const bodypart = row('bodyparts').cells[j]!.trim();
    if (bodypart === '') throw formatError(`column ${j + 1}: bodypart is empty`, { line: row('bodyparts').line });
    const individual = multi ? row('individuals').cells[j]!.trim() : '';
    columns.push({ individual, bodypart, coord });
  }
  return { indexColumns, columns, dataStart: labels.length };
}

/** The x and y columns of one bodypart of one individual ('' in single-animal files). */
interface Slot {
  individual: string;
  bodypart: string;
  x: number;
  y: number;
}

function readSlots(header: Header, coordsLine: number): Slot[] {
  const slots = new Map<string, { individual: string; bodypart: string; x?: number; y?: number }>();
  header.columns.forEach((col, j) => {
    const key = JSON.stringify([col.individual, col.bodypart]);
    const slot = slots.get(key) ?? { individual: col.individual, bodypart: col.bodypart };
    const column = header.indexColumns + j;
    if (slot[col.coord] !== undefined) {
      throw formatError(`column ${column + 1}: a second ${col.coord} for "${col.bodypart}"`, { line: coordsLine });
    }
    slot[col.coord] = column;
    slots.set(key, slot);
  });
  return [...slots.values()].map(({ individual, bodypart, x, y }) => {
    if (x === undefined || y === undefined) {
      throw formatError(`"${bodypart}" has no ${x === undefined ? 'x' : 'y'} column`, { line: coordsLine });
    }
    return { individual, bodypart, x, y };
  });
}

/**
 * Reads a DeepLabCut labeled-data CSV. Multi-animal files become one item per labeled individual,
 * cropped from the extent of its points (instanceCrop) when an image holds several; unique
 * bodyparts (individual "single") are refused when labeled, since they belong to no instance.
 */
export function parseDlcCsv(text: string, opts: DlcParseOptions = {}): LabelSet {
  const records = readCsv(text);
  const header = readHeader(records);
  const config = opts.configYaml !== undefined ? readConfig(opts.configYaml) : null;

  const slots = readSlots(header, records[header.dataStart - 1]!.line);
  const animalSlots = slots.filter((s) => s.individual !== UNIQUE_INDIVIDUAL);
  const uniqueSlots = slots.filter((s) => s.individual === UNIQUE_INDIVIDUAL);

  const csvBodyparts = [...new Set(animalSlots.map((s) => s.bodypart))];
  const unknown = config && csvBodyparts.find((b) => !config.bodyparts.includes(b));
  if (config && unknown !== undefined) {
    const known = config.bodyparts.join(', ');
    throw formatError(
      `bodypart "${unknown}" is not in config.yaml's bodyparts (${known}): is it this project's config?`,
      {
        line: records[header.dataStart - 2]!.line,
      },
    );
  }
  const keypoints = config ? config.bodyparts : csvBodyparts;
  const edges = (config?.skeleton ?? []).map((e, i) =>
    keypointPair(e, keypoints, { field: `config.yaml skeleton[${i}]` }, 'skeleton edge'),
  );
  // Per individual, the slot of each keypoint (or undefined where the CSV has no column for it).
  const individuals = [...new Set(animalSlots.map((s) => s.individual))].map((individual) =>
    keypoints.map((k) => animalSlots.find((s) => s.individual === individual && s.bodypart === k)),
  );

  const instances: Instance[] = [];
  const seenRefs = new Map<string, number>();
  for (const rec of records.slice(header.dataStart)) {
    const width = header.indexColumns + header.columns.length;
    if (rec.cells.length !== width)
      throw formatError(`has ${rec.cells.length} cells, the header ${width}`, { line: rec.line });
    const ref = rec.cells.slice(0, header.indexColumns).join('/').replaceAll('\\', '/');
    if (rec.cells.slice(0, header.indexColumns).some((c) => c === ''))
      throw formatError('the image reference is empty', { line: rec.line });
    const earlier = seenRefs.get(ref);
    if (earlier !== undefined) throw formatError(`"${ref}" is listed twice (also line ${earlier})`, { line: rec.line });
    seenRefs.set(ref, rec.line);

    const point = (slot: Slot): LabeledPoint | null => {
      const xs = rec.cells[slot.x]!.trim();
      const ys = rec.cells[slot.y]!.trim();
      if (xs === '' && ys === '') return null;
      const what = `"${slot.bodypart}"`;
      if (xs === '' || ys === '')
        throw formatError(`${what} has ${xs === '' ? 'y' : 'x'} but no ${xs === '' ? 'x' : 'y'}`, { line: rec.line });
      return {
        x: cellCoordinate(xs, { line: rec.line }, `${what} x`),
        y: cellCoordinate(ys, { line: rec.line }, `${what} y`),
        visibility: 'visible',
      };
    };
    const labeledUnique = uniqueSlots.filter((s) => point(s) !== null).map((s) => s.bodypart);
    if (labeledUnique.length > 0) {
      throw formatError(
        `"${ref}" labels unique bodyparts (${labeledUnique.join(', ')}), which belong to no individual; ` +
          'they cannot be imported into an instance: remove those columns to import the individuals',
        { line: rec.line },
      );
    }
    for (const individual of individuals) {
      const points = individual.map((slot) => (slot ? point(slot) : null));
      instances.push({ file: ref, box: null, points, imageSize: null, at: { line: rec.line } });
    }
  }
  return { keypoints, edges, flipPairs: [], normPair: null, items: itemsFromInstances(instances) };
}

/**
 * Writes a CSV DeepLabCut reads, one index column holding each item's file as given (DeepLabCut
 * expects labeled-data/<video>/<image>). Files with several items are written multi-animal, the
 * items as individual1, individual2, ...; occluded points are written as labeled, absent ones
 * empty; crops are not written (they are cut again from the points on import).
 */
export function formatDlcCsv(set: LabelSet, opts: DlcFormatOptions): string {
  assertWritable(set);
  if (opts.scorer.trim() === '') throw new Error('formatDlcCsv: the scorer name is empty');
  const byFile = new Map<string, LabelSetItem[]>();
  for (const item of set.items) {
    const items = byFile.get(item.file) ?? [];
    items.push(item);
    byFile.set(item.file, items);
  }
  const individuals = [...byFile.values()].reduce((most, items) => Math.max(most, items.length), 1);

  // Header and data cells run individual by individual, keypoint by keypoint, x then y.
  const cells = (cell: (n: number, k: number) => [string, string]) =>
    Array.from({ length: individuals }, (_, n) => set.keypoints.flatMap((_, k) => cell(n, k))).flat();
  const rows: string[][] = [['scorer', ...cells(() => [opts.scorer, opts.scorer])]];
  if (individuals > 1) rows.push(['individuals', ...cells((n) => [`individual${n + 1}`, `individual${n + 1}`])]);
  rows.push(
    ['bodyparts', ...cells((_, k) => [set.keypoints[k]!, set.keypoints[k]!])],
    ['coords', ...cells(() => ['x', 'y'])],
  );
  for (const [file, items] of byFile) {
    const point = (n: number, k: number): [string, string] => {
      const p = items[n]?.points[k];
      return p && p.visibility !== 'absent' ? [String(p.x), String(p.y)] : ['', ''];
    };
    rows.push([file, ...cells(point)]);
  }
  return csvText(rows);
}
