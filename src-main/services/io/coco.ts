// COCO keypoints JSON: images, annotations ([x, y, v] * K with v 0 = not labeled, 1 = labeled
// but not visible, 2 = visible) and categories (keypoint names, 1-based skeleton, and optionally
// mmpose-style `flip_pairs`: left/right partners as 0-based keypoint indices, or as names).
import { boxFromCrop, itemsFromInstances } from './instanceCrop.js';
import type { Instance } from './instanceCrop.js';
import { jsonArray, jsonBox, jsonObject, readJson } from './json.js';
import {
  assertOnePartnerEach,
  assertWritable,
  describeValue,
  formatError,
  jsonCoordinate,
  keypointName,
  keypointPair,
} from './labelSet.js';
import type { ImageSize, LabeledPoint, LabelSet } from './labelSet.js';

export interface CocoFormatOptions {
  /** Size of every item's file, keyed by LabelSetItem.file (COCO requires width and height). */
  imageSizes: ReadonlyMap<string, ImageSize>;
  /** Name of the one category written; default 'object'. */
  categoryName?: string;
}

type Id = number | string;

function readId(value: unknown, field: string): Id {
  if ((typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && value !== ''))
    return value;
  throw formatError(`must be an integer id, found ${describeValue(value)}`, { field });
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw formatError(`must be a positive number, found ${describeValue(value)}`, { field });
  }
  return value;
}

interface KeypointCategory {
  /** Index of the category's first keypoint in the merged keypoint list. */
  offset: number;
  count: number;
}

/**
 * Reads COCO keypoints JSON. Every category with keypoints is imported; with several, keypoint
 * names become "<category>/<keypoint>" and each annotation fills its own category's points.
 * Annotations of categories without keypoints and crowd regions (iscrowd 1) are skipped. An image
 * with several instances gives one crop item per instance (its bbox expanded by
 * INSTANCE_CROP.margin, clamped to the image); an image with one instance stays whole; images
 * without annotations give no item.
 */
export function parseCocoKeypoints(json: string): LabelSet {
  const root = jsonObject(readJson(json), 'COCO file');
  const images = jsonArray(root.images, 'images');
  const annotations = jsonArray(root.annotations, 'annotations');
  const categories = jsonArray(root.categories, 'categories');

  const withKeypoints = categories
    .map((raw, i) => ({ cat: jsonObject(raw, `categories[${i}]`), i }))
    .filter(({ cat }) => Array.isArray(cat.keypoints) && cat.keypoints.length > 0);
  if (withKeypoints.length === 0)
    throw formatError('no category lists keypoints: this is not a COCO keypoints file', { field: 'categories' });

  const keypoints: string[] = [];
  const edges: [string, string][] = [];
  const flipPairs: [string, string][] = [];
  const categoryById = new Map<Id, KeypointCategory | null>();
  categories.forEach((raw, i) => {
    const field = `categories[${i}].id`;
    const id = readId(jsonObject(raw, `categories[${i}]`).id, field);
    if (categoryById.has(id)) throw formatError(`category id ${JSON.stringify(id)} is used twice`, { field });
    categoryById.set(id, null);
  });
  for (const { cat, i } of withKeypoints) {
    const field = `categories[${i}]`;
    const prefix = withKeypoints.length > 1 ? `${String(cat.name ?? cat.id)}/` : '';
    const names = jsonArray(cat.keypoints, `${field}.keypoints`);
    const offset = keypoints.length;
    const seen = new Set(keypoints);
    names.forEach((raw, j) => {
      const base = keypointName(raw, { field: `${field}.keypoints[${j}]` }, new Set());
      const name = keypointName(prefix + base, { field: `${field}.keypoints[${j}]` }, seen);
      seen.add(name);
      keypoints.push(name);
    });
    jsonArray(cat.skeleton ?? [], `${field}.skeleton`).forEach((rawEdge, e) => {
      const edgeField = `${field}.skeleton[${e}]`;
      const pair = jsonArray(rawEdge, edgeField);
      if (
        pair.length !== 2 ||
        pair.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > names.length)
      ) {
        throw formatError(
          `must be two keypoint numbers from 1 to ${names.length} (COCO counts from 1), found ${describeValue(rawEdge)}`,
          {
            field: edgeField,
          },
        );
      }
      edges.push([keypoints[offset + (pair[0] as number) - 1]!, keypoints[offset + (pair[1] as number) - 1]!]);
    });
    jsonArray(cat.flip_pairs ?? [], `${field}.flip_pairs`).forEach((rawPair, p) => {
      const pairField = `${field}.flip_pairs[${p}]`;
      const pair = jsonArray(rawPair, pairField);
      const byIndex =
        pair.length === 2 &&
        pair.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length);
      flipPairs.push(
        byIndex
          ? [keypoints[offset + (pair[0] as number)]!, keypoints[offset + (pair[1] as number)]!]
          : keypointPair(
              pair.map((v) => (typeof v === 'string' ? prefix + v.trim() : v)),
              keypoints,
              { field: pairField },
              'flip pair (two keypoint indices from 0, or two names)',
            ),
      );
    });
    const id = readId(cat.id, `${field}.id`);
    categoryById.set(id, { offset, count: names.length });
  }
  assertOnePartnerEach(flipPairs, 'flip_pairs');

  const imageById = new Map<Id, { file: string; size: ImageSize; instances: Instance[] }>();
  const fileIndex = new Map<string, number>();
  images.forEach((raw, i) => {
    const field = `images[${i}]`;
    const image = jsonObject(raw, field);
    const id = readId(image.id, `${field}.id`);
    if (imageById.has(id)) throw formatError(`image id ${JSON.stringify(id)} is used twice`, { field: `${field}.id` });
    const file = image.file_name;
    if (typeof file !== 'string' || file === '')
      throw formatError(`must be a file name, found ${describeValue(file)}`, { field: `${field}.file_name` });
    const earlier = fileIndex.get(file);
    if (earlier !== undefined)
      throw formatError(`"${file}" is listed again (as images[${earlier}])`, { field: `${field}.file_name` });
    fileIndex.set(file, i);
    const size = { width: positive(image.width, `${field}.width`), height: positive(image.height, `${field}.height`) };
    imageById.set(id, { file, size, instances: [] });
  });

  annotations.forEach((raw, i) => {
    const field = `annotations[${i}]`;
    const ann = jsonObject(raw, field);
    const image = imageById.get(readId(ann.image_id, `${field}.image_id`));
    if (!image)
      throw formatError(`image ${JSON.stringify(ann.image_id)} is not in images`, { field: `${field}.image_id` });
    const catId = readId(ann.category_id, `${field}.category_id`);
    if (!categoryById.has(catId))
      throw formatError(`category ${JSON.stringify(catId)} is not in categories`, { field: `${field}.category_id` });
    const category = categoryById.get(catId);
    if (!category || ann.iscrowd === 1) return;

    const flat = jsonArray(ann.keypoints, `${field}.keypoints`);
    if (flat.length !== 3 * category.count) {
      throw formatError(`has ${flat.length} numbers, expected 3 x ${category.count} keypoints`, {
        field: `${field}.keypoints`,
      });
    }
    const points: (LabeledPoint | null)[] = keypoints.map(() => null);
    for (let k = 0; k < category.count; k++) {
      const at = (j: number) => ({ field: `${field}.keypoints[${3 * k + j}]` });
      const v = flat[3 * k + 2];
      if (v !== 0 && v !== 1 && v !== 2)
        throw formatError(`visibility must be 0, 1 or 2, found ${describeValue(v)}`, at(2));
      if (v === 0) continue;
      const name = keypoints[category.offset + k]!;
      points[category.offset + k] = {
        x: jsonCoordinate(flat[3 * k], at(0), `"${name}" x`),
        y: jsonCoordinate(flat[3 * k + 1], at(1), `"${name}" y`),
        visibility: v === 2 ? 'visible' : 'occluded',
      };
    }
    image.instances.push({
      file: image.file,
      box: jsonBox(ann.bbox, `${field}.bbox`),
      points,
      imageSize: image.size,
      at: { field },
    });
  });

  const instances = [...imageById.values()].flatMap((image) => image.instances);
  return { keypoints, edges, flipPairs, normPair: null, items: itemsFromInstances(instances) };
}

/**
 * Writes COCO keypoints JSON with one category. Crop items get the bbox their crop is cut from
 * again on import; whole-image items the whole image. Absent points are written as v = 0 (COCO
 * has no "absent"), occluded as v = 1.
 */
export function formatCoco(set: LabelSet, opts: CocoFormatOptions): string {
  assertWritable(set);
  const name = opts.categoryName ?? 'object';
  const imageIds = new Map<string, number>();
  const images = [];
  for (const item of set.items) {
    if (imageIds.has(item.file)) continue;
    const size = opts.imageSizes.get(item.file);
    if (!size) throw new Error(`formatCoco: no image size given for "${item.file}"`);
    imageIds.set(item.file, imageIds.size + 1);
    images.push({ id: imageIds.size, file_name: item.file, width: size.width, height: size.height });
  }
  const annotations = set.items.map((item, i) => {
    const size = opts.imageSizes.get(item.file)!;
    const box = item.crop ? boxFromCrop(item.crop) : { x: 0, y: 0, w: size.width, h: size.height };
    const keypoints = item.points.flatMap((p) =>
      p === null || p.visibility === 'absent' ? [0, 0, 0] : [p.x, p.y, p.visibility === 'visible' ? 2 : 1],
    );
    return {
      id: i + 1,
      image_id: imageIds.get(item.file)!,
      category_id: 1,
      keypoints,
      num_keypoints: item.points.filter((p) => p !== null && p.visibility !== 'absent').length,
      bbox: [box.x, box.y, box.w, box.h],
      area: box.w * box.h,
      iscrowd: 0,
    };
  });
  const index = new Map(set.keypoints.map((k, i) => [k, i + 1]));
  const categories = [
    {
      id: 1,
      name,
      supercategory: name,
      keypoints: set.keypoints,
      skeleton: set.edges.map(([a, b]) => [index.get(a)!, index.get(b)!]),
      ...(set.flipPairs.length
        ? { flip_pairs: set.flipPairs.map(([a, b]) => [index.get(a)! - 1, index.get(b)! - 1]) }
        : {}),
    },
  ];
  return (
    JSON.stringify(
      { info: { description: 'Landmark Studio export' }, licenses: [], images, annotations, categories },
      null,
      1,
    ) + '\n'
  );
}
