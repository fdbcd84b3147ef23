// labels.json, the layout of the shared datasets (../shared/datasets/README.md) and of the demo
// dataset: {meta, names, items: [{file, points: [[x, y] | null], bbox?}]}. Our additions, all
// optional: a third point element "occluded", and edges / flipPairs / normPair, each pair two
// names or two indices from 0 (the demo generator writes indices, and its edges as `skeleton`).
import { boxFromCrop, itemsFromInstances } from './instanceCrop.js';
import type { Instance } from './instanceCrop.js';
import { jsonArray, jsonBox, jsonObject, readJson } from './json.js';
import {
  assertOnePartnerEach,
  assertWritable,
  describeValue,
  jsonCoordinate,
  formatError,
  keypointName,
  keypointPair,
} from './labelSet.js';
import type { LabeledPoint, LabelSet, LabelSetItem } from './labelSet.js';

function readPoint(raw: unknown, field: string): LabeledPoint | null {
  if (raw === null) return null;
  const p = jsonArray(raw, field);
  if (p.length !== 2 && p.length !== 3)
    throw formatError(`a point is [x, y], [x, y, "occluded"] or null, found ${p.length} elements`, { field });
  const visibility = p.length === 3 ? p[2] : 'visible';
  if (visibility !== 'visible' && visibility !== 'occluded') {
    throw formatError(`the third element must be "visible" or "occluded", found ${describeValue(visibility)}`, {
      field,
    });
  }
  return {
    x: jsonCoordinate(p[0], { field: `${field}[0]` }, 'x'),
    y: jsonCoordinate(p[1], { field: `${field}[1]` }, 'y'),
    visibility,
  };
}

/** Two keypoints by name, or by index from 0 into `keypoints`. */
function readPair(raw: unknown, keypoints: string[], field: string, what: string): [string, string] {
  if (!Array.isArray(raw) || raw.length !== 2)
    throw formatError(`${what} must be two keypoint names or indices, found ${describeValue(raw)}`, { field });
  if (raw.every((v) => typeof v === 'string')) return keypointPair(raw, keypoints, { field }, what);
  if (!raw.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < keypoints.length))
    throw formatError(
      `${what} must be two keypoint names or two indices from 0 to ${keypoints.length - 1}, found ${JSON.stringify(raw).slice(0, 80)}`,
      { field },
    );
  return keypointPair(
    raw.map((i: number) => keypoints[i]),
    keypoints,
    { field },
    what,
  );
}

function readPairs(raw: unknown, keypoints: string[], field: string, what: string): [string, string][] {
  if (raw === undefined) return [];
  return jsonArray(raw, field).map((pair, i) => readPair(pair, keypoints, `${field}[${i}]`, what));
}

/**
 * Reads labels.json. Items sharing a file are instances: each becomes a crop item cut from its
 * bbox, or from its points without one (instanceCrop); a file's single item is the whole image.
 * Other fields (meta, split) are not imported.
 */
export function parseLabelsJson(json: string): LabelSet {
  const root = jsonObject(readJson(json), 'labels.json');
  const keypoints: string[] = [];
  jsonArray(root.names, 'names').forEach((raw, i) =>
    keypoints.push(keypointName(raw, { field: `names[${i}]` }, new Set(keypoints))),
  );

  if (root.edges !== undefined && root.skeleton !== undefined)
    throw formatError('has both "edges" and "skeleton": keep one', { field: 'skeleton' });
  const edges =
    root.skeleton !== undefined
      ? readPairs(root.skeleton, keypoints, 'skeleton', 'edge')
      : readPairs(root.edges, keypoints, 'edges', 'edge');
  const flipPairs = readPairs(root.flipPairs, keypoints, 'flipPairs', 'flip pair');
  assertOnePartnerEach(flipPairs, 'flipPairs');
  const normPair =
    root.normPair === undefined || root.normPair === null
      ? null
      : readPair(root.normPair, keypoints, 'normPair', 'normPair');

  const instances: Instance[] = jsonArray(root.items, 'items').map((raw, i) => {
    const field = `items[${i}]`;
    const item = jsonObject(raw, field);
    if (typeof item.file !== 'string' || item.file === '')
      throw formatError(`must be a file name, found ${describeValue(item.file)}`, { field: `${field}.file` });
    const points = jsonArray(item.points, `${field}.points`);
    if (points.length !== keypoints.length) {
      throw formatError(`has ${points.length} points for ${keypoints.length} names`, { field: `${field}.points` });
    }
    return {
      file: item.file,
      box: jsonBox(item.bbox, `${field}.bbox`),
      points: points.map((p, k) => readPoint(p, `${field}.points[${k}]`)),
      imageSize: null,
      at: { field },
    };
  });
  return { keypoints, edges, flipPairs, normPair, items: itemsFromInstances(instances) };
}

function itemJson(item: LabelSetItem): string {
  const points = item.points.map((p) =>
    p === null || p.visibility === 'absent' ? null : p.visibility === 'occluded' ? [p.x, p.y, 'occluded'] : [p.x, p.y],
  );
  const box = item.crop && boxFromCrop(item.crop);
  return JSON.stringify({ file: item.file, points, ...(box ? { bbox: [box.x, box.y, box.w, box.h] } : {}) });
}

/**
 * Writes labels.json, one item per line. Crop items carry the bbox their crop is cut from again;
 * absent points are written as null (the format has no "absent").
 */
export function formatLabelsJson(set: LabelSet): string {
  assertWritable(set);
  const head = {
    meta: { source: 'Landmark Studio export' },
    names: set.keypoints,
    ...(set.edges.length ? { edges: set.edges } : {}),
    ...(set.flipPairs.length ? { flipPairs: set.flipPairs } : {}),
    ...(set.normPair ? { normPair: set.normPair } : {}),
  };
  const fields = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const items = set.items.map((item, i) => `    ${itemJson(item)}${i < set.items.length - 1 ? ',' : ''}`);
  return ['{', ...fields, '  "items": [', ...items, '  ]', '}', ''].join('\n');
}
