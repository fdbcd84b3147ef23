// io.import / io.export: label files through the pure parsers and formatters of ./io, applied
// to and built from the project database. A file that does not parse imports nothing; one that
// parses is applied in a single transaction and is one undo step.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ImportFormat, ImportReport } from '../../src-shared/domain.js';
import { isRejectedPair, reviewFlipPartners } from '../../src-shared/flipPartners.js';
import type { HistoryChange } from '../store/history.js';
import type { ProjectStore } from '../store/projectStore.js';
import { applyChanges, itemRegion, valueOf } from './annotationsService.js';
import {
  clampCrop,
  formatCoco,
  formatDlcCsv,
  formatLabelsJson,
  formatPlainCsv,
  formatProvenanceCsv,
  formatProvenanceJson,
  ImportFormatError,
  matchImageRefs,
  parseCocoKeypoints,
  parseDlcCsv,
  parseLabelsJson,
  parsePlainCsv,
} from './io/index.js';
import type { ImageSize, LabelSet, LabelSetItem, ProvenanceRow } from './io/index.js';
import type { PathPolicy } from './pathPolicy.js';
import { addKeypoint, keypointSchema } from './schemaService.js';
import type { ProjectSession } from './session.js';

type IoHandlers = Pick<ApiHandlers, 'io.import' | 'io.export'>;

/** Label files larger than this are refused before reading. */
export const MAX_LABEL_FILE_BYTES = 256 * 1024 * 1024;
/** Points this far (pixels) outside their item are pulled onto its edge; further out they are skipped. */
const EDGE_TOLERANCE = 1;
/** Warnings listed one by one before the rest are summarised. */
const LISTED_WARNINGS = 50;

export function ioHandlers(session: ProjectSession, policy: PathPolicy): IoHandlers {
  return {
    async 'io.import'({ format, file, configFile }) {
      const store = session.require();
      if (configFile !== undefined && format !== 'dlc') {
        throw new ApiError(
          'invalid',
          `configFile is only read for DeepLabCut imports (format 'dlc'), not '${format}'.`,
        );
      }
      const text = await readLabelFile(await policy.check(file, 'read'), file);
      const config =
        configFile === undefined
          ? undefined
          : await readLabelFile(await policy.check(configFile, 'read', 'config file'), configFile);
      let set: LabelSet;
      try {
        set = parseLabelFile(format, text, config);
      } catch (err) {
        if (err instanceof ImportFormatError) {
          throw new ApiError('invalid', `Cannot import ${file}: ${err.message}. Nothing was imported.`);
        }
        throw err;
      }
      return store.transaction(() => applyLabelSet(store, set, format));
    },

    async 'io.export'({ format, file, overwrite }) {
      const store = session.require();
      const target = await policy.check(file, 'write');
      const shown = path.resolve(file);
      const folder = await stat(path.dirname(target)).catch(() => null);
      if (!folder?.isDirectory())
        throw new ApiError('not_found', `Cannot export to ${shown}: its folder does not exist.`);
      if ((await stat(target).catch(() => null))?.isDirectory())
        throw new ApiError('invalid', `Cannot export to ${shown}: it is a folder.`);
      if (format === 'provenance-csv' || format === 'provenance-json') {
        const rows = provenanceRows(store);
        const text = format === 'provenance-csv' ? formatProvenanceCsv(rows) : formatProvenanceJson(rows);
        await writeWhole(target, text, overwrite, shown);
        return { file: shown, count: rows.length };
      }
      const set = buildLabelSet(store);
      let text: string;
      try {
        text = formatLabelFile(format, set, store);
      } catch (err) {
        if (err instanceof ImportFormatError)
          throw new ApiError('invalid', `Cannot export as ${format}: ${err.message}`);
        throw err;
      }
      await writeWhole(target, text, overwrite, shown);
      return { file: shown, count: set.items.length };
    },
  };
}

/**
 * Writes `text` to a temporary file beside `target`, then renames it over `target`, so a reader
 * sees the old file or the new one, never half of one. Without `overwrite`, `target` is first
 * created empty and exclusively: a file that appeared since the caller's check is not replaced.
 */
async function writeWhole(target: string, text: string, overwrite: boolean, shown: string): Promise<void> {
  const partial = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`,
  );
  let reserved = false;
  try {
    if (!overwrite) {
      await (await open(target, 'wx')).close();
      reserved = true;
    }
    await writeFile(partial, text, { flag: 'wx' });
    await rename(partial, target);
  } catch (err) {
    // Cleaning up must not hide the error being reported.
    await rm(partial, { force: true }).catch(() => {});
    if (reserved) await rm(target, { force: true }).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !reserved)
      throw new ApiError('conflict', `${shown} already exists: choose another file, or ask to overwrite it.`);
    throw new ApiError('invalid', `Cannot write ${shown}: ${code ?? 'the write failed'}.`);
  }
}

/** The text of `real`, a file the policy allowed; messages name it as the caller did (`asked`). */
async function readLabelFile(real: string, asked: string): Promise<string> {
  const info = await stat(real);
  if (info.size > MAX_LABEL_FILE_BYTES) {
    throw new ApiError(
      'invalid',
      `${asked} is ${Math.round(info.size / 2 ** 20)} MB: label files over ${MAX_LABEL_FILE_BYTES / 2 ** 20} MB are refused.`,
    );
  }
  return (await readFile(real, 'utf8')).replace(/^\uFEFF/, '');
}

function parseLabelFile(format: ImportFormat, text: string, configYaml: string | undefined): LabelSet {
  switch (format) {
    case 'dlc':
      return parseDlcCsv(text, configYaml === undefined ? {} : { configYaml });
    case 'coco':
      return parseCocoKeypoints(text);
    case 'csv':
      return parsePlainCsv(text);
    case 'labels':
      return parseLabelsJson(text);
  }
}

function formatLabelFile(format: ImportFormat, set: LabelSet, store: ProjectStore): string {
  switch (format) {
    case 'dlc':
      // DeepLabCut's scorer is a name without spaces; the project's name stands in.
      return formatDlcCsv(set, { scorer: store.settings.require('name').replace(/[^A-Za-z0-9_-]+/g, '_') || 'scorer' });
    case 'coco': {
      const imageSizes = new Map<string, ImageSize>();
      for (const item of set.items) {
        const image = store.images.getByPath(item.file);
        if (image) imageSizes.set(item.file, { width: image.width, height: image.height });
      }
      return formatCoco(set, { imageSizes });
    }
    case 'csv':
      return formatPlainCsv(set);
    case 'labels':
      return formatLabelsJson(set);
  }
}

/**
 * Applies a parsed label file (call inside a transaction): creates the keypoints, edges, flip
 * pairs and normalisation pair the project lacks (existing ones are kept as they are), matches
 * item files to project images, creates instance items for crops, and writes the points, which
 * replace existing points of the same keypoints. Points the file leaves out are not touched.
 */
export function applyLabelSet(store: ProjectStore, set: LabelSet, format: ImportFormat): ImportReport {
  const warnings: string[] = [];
  const keypointsCreated: string[] = [];
  const keypointIds = set.keypoints.map((name) => {
    const existing = store.keypoints.getByName(name);
    if (existing) return existing.id;
    keypointsCreated.push(name);
    return addKeypoint(store, name);
  });
  const idOf = (name: string) => store.keypoints.getByName(name)?.id;

  for (const [a, b] of set.edges) {
    const [ia, ib] = [idOf(a), idOf(b)];
    if (ia !== undefined && ib !== undefined && ia !== ib && !store.keypoints.findEdge(ia, ib))
      store.keypoints.addEdge(ia, ib);
  }
  const flipPairs = applyFlipPairs(store, set.flipPairs);
  if (set.normPair && !store.settings.get('normPair')) {
    const [ia, ib] = [idOf(set.normPair[0]), idOf(set.normPair[1])];
    if (ia !== undefined && ib !== undefined && ia !== ib) store.settings.set('normPair', [ia, ib]);
  }

  const refs = [...new Set(set.items.map((item) => item.file))];
  const { matches, unmatched } = matchImageRefs(
    refs,
    store.images.allFiles().map((f) => f.relPath),
  );
  const now = new Date().toISOString();
  const changes: HistoryChange[] = [];
  const labeledImages = new Set<number>();
  let instances = 0;
  for (const item of set.items) {
    const relPath = matches.get(item.file);
    if (relPath === undefined) continue;
    const target = itemFor(store, item, relPath, warnings);
    if (!target) continue;
    if (target.created) instances += 1;
    const image = store.images.get(target.id)!;
    const region = itemRegion(image);
    item.points.forEach((point, k) => {
      const keypointId = keypointIds[k];
      if (!point || keypointId === undefined) return;
      let { x, y } = point;
      if (point.visibility === 'absent') {
        [x, y] = [region.x, region.y]; // meaningless for absent points; kept inside the item
      } else {
        const outside = Math.max(region.x - x, x - region.x - region.w, region.y - y, y - region.y - region.h);
        if (outside > EDGE_TOLERANCE) {
          warnings.push(
            `${item.file}: "${set.keypoints[k]}" at (${x}, ${y}) lies outside the ${image.crop ? 'instance box' : 'image'}; skipped`,
          );
          return;
        }
        x = Math.min(Math.max(x, region.x), region.x + region.w);
        y = Math.min(Math.max(y, region.y), region.y + region.h);
      }
      const before = store.annotations.get(target.id, keypointId);
      changes.push({
        imageId: target.id,
        keypointId,
        before: valueOf(before),
        after: { x, y, visibility: point.visibility, source: 'human', updatedAt: now, predicted: null },
      });
      labeledImages.add(target.id);
    });
  }
  applyChanges(store, changes, now);

  const extra = warnings.length - LISTED_WARNINGS;
  return {
    format,
    images: labeledImages.size,
    annotations: changes.length,
    keypointsCreated,
    unmatched: unmatched.map((u) => u.ref),
    instances,
    warnings: extra > 0 ? [...warnings.slice(0, LISTED_WARNINGS), `... and ${extra} more`] : warnings,
    ...flipPairs,
  };
}

/**
 * Sets flip partners on import (inside the import's transaction): the file's own pairs first,
 * then the pairs proposed from the keypoints' names, except pairs the user rejected. Only
 * keypoints without a partner are paired: the project's own choices win.
 */
function applyFlipPairs(
  store: ProjectStore,
  filePairs: readonly [string, string][],
): Pick<ImportReport, 'flipPairs' | 'unpairedSides'> {
  const set: ImportReport['flipPairs'] = [];
  const rejected = store.keypoints.rejectedFlipPairs();
  const pair = (a: number, b: number, source: 'file' | 'names') => {
    const [ka, kb] = [store.keypoints.get(a), store.keypoints.get(b)];
    if (
      !ka ||
      !kb ||
      a === b ||
      ka.flipPartnerId !== null ||
      kb.flipPartnerId !== null ||
      isRejectedPair(rejected, a, b)
    )
      return;
    store.keypoints.setFlipPartner(a, b);
    set.push({ left: ka.name, right: kb.name, source });
  };
  for (const [a, b] of filePairs) {
    const [ka, kb] = [store.keypoints.getByName(a), store.keypoints.getByName(b)];
    if (ka && kb) pair(ka.id, kb.id, 'file');
  }
  for (const { left, right } of reviewFlipPartners(store.keypoints.list(), rejected).proposals)
    pair(left, right, 'names');
  const keypoints = store.keypoints.list();
  const nameOf = new Map(keypoints.map((k) => [k.id, k.name]));
  const unpairedSides = reviewFlipPartners(keypoints, rejected).unpaired.map((u) => ({
    name: nameOf.get(u.keypointId)!,
    reason: u.reason,
  }));
  return { flipPairs: set, unpairedSides };
}

/** The project item an imported item goes to: the whole file, or the instance crop cut from it. */
function itemFor(
  store: ProjectStore,
  item: LabelSetItem,
  relPath: string,
  warnings: string[],
): { id: number; created: boolean } | null {
  const file = store.images.getByPath(relPath)!;
  if (file.problem !== null) {
    warnings.push(`${item.file}: the image cannot be used (${file.problem}); its points were skipped`);
    return null;
  }
  if (!item.crop) return { id: file.id, created: false };
  const crop = clampCrop(item.crop, { width: file.width, height: file.height });
  if (!crop) {
    warnings.push(`${item.file}: an instance box lies outside the ${file.width}x${file.height} image; skipped`);
    return null;
  }
  // Stored crops are whole pixels so the cut rendition lines up with the stored coordinates.
  const x = Math.floor(crop.x);
  const y = Math.floor(crop.y);
  const whole = { x, y, w: Math.ceil(crop.x + crop.w) - x, h: Math.ceil(crop.y + crop.h) - y };
  return store.images.ensureCropItem(file.id, relPath, whole);
}

/** Every label with its provenance, by image path then the keypoints' labeling order. */
function provenanceRows(store: ProjectStore): ProvenanceRow[] {
  const keypoints = keypointSchema(store).keypoints;
  const nameOf = new Map(keypoints.map((k) => [k.id, k.name]));
  const order = new Map(keypoints.map((k, i) => [k.id, i]));
  const rows = store.annotations.all().map((a) => {
    const image = store.images.get(a.imageId)!;
    const absent = a.visibility === 'absent';
    return {
      image: image.relPath,
      crop: image.crop,
      keypoint: nameOf.get(a.keypointId)!,
      predictedX: a.predicted?.x ?? null,
      predictedY: a.predicted?.y ?? null,
      x: absent ? null : a.x,
      y: absent ? null : a.y,
      visibility: a.visibility,
      source: a.source,
      run: a.predicted?.runId ?? null,
      order: [image.relPath, a.imageId, order.get(a.keypointId)!] as const,
    };
  });
  rows.sort(
    (p, q) =>
      (p.order[0] < q.order[0] ? -1 : p.order[0] > q.order[0] ? 1 : 0) ||
      p.order[1] - q.order[1] ||
      p.order[2] - q.order[2],
  );
  return rows.map(({ order: _order, ...row }) => row);
}

/** Every labeled item of the project, in the project's keypoint order. */
export function buildLabelSet(store: ProjectStore): LabelSet {
  const schema = keypointSchema(store);
  const nameOf = new Map(schema.keypoints.map((k) => [k.id, k.name]));
  const column = new Map(schema.keypoints.map((k, i) => [k.id, i]));
  const flipPairs: [string, string][] = schema.keypoints
    .filter((k) => k.flipPartnerId !== null && k.id < k.flipPartnerId)
    .map((k) => [k.name, nameOf.get(k.flipPartnerId!)!]);
  const byImage = new Map<number, LabelSetItem>();
  for (const a of store.annotations.all()) {
    let item = byImage.get(a.imageId);
    if (!item) {
      const image = store.images.get(a.imageId)!;
      item = { file: image.relPath, crop: image.crop, points: schema.keypoints.map(() => null) };
      byImage.set(a.imageId, item);
    }
    const absent = a.visibility === 'absent';
    item.points[column.get(a.keypointId)!] = { x: absent ? 0 : a.x, y: absent ? 0 : a.y, visibility: a.visibility };
  }
  const items = [...byImage.values()].sort((p, q) => (p.file < q.file ? -1 : p.file > q.file ? 1 : 0));
  return {
    keypoints: schema.keypoints.map((k) => k.name),
    edges: schema.edges.map((e) => [nameOf.get(e.a)!, nameOf.get(e.b)!]),
    flipPairs,
    normPair: schema.normPair && [nameOf.get(schema.normPair[0])!, nameOf.get(schema.normPair[1])!],
    items,
  };
}
