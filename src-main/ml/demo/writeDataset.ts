// Writes a procedural demo dataset to disk in the same layout as ../shared/datasets
// (README there), so one importer reads both:
//   <dir>/images/000000.png ...
//   <dir>/labels.json = {
//     meta: {source, license, generator: {regime, count, seed, size}},
//     names: [K names],
//     items: [{file, points: [[x, y], ...], visibility: ['visible' | 'occluded', ...]}],
//     skeleton: [[a, b], ...],    // extra: skeleton edges as keypoint indices
//     flipPairs: [[a, b], ...],   // extra: left/right partners as keypoint indices
//     normPair: [a, b],           // extra: keypoint indices normalising NME
//     colors: ['#rrggbb', ...]    // extra: display colour per keypoint
//   }
// Points are 0-based pixel coordinates of the PNG (continuous, pixel centres at +0.5). Occluded
// landmarks keep their position (a person would still place them) and are marked in the extra
// per-item `visibility`; the generator never leaves a point out, so `points` has no nulls.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Visibility } from '../../../src-shared/domain.js';
import type { Point } from '../../../src-shared/geometry.js';
import { demoSchema, renderDemoSample, type DemoRegime } from './generate.js';

export interface DemoLabels {
  meta: {
    source: string;
    license: string;
    generator: { regime: DemoRegime; count: number; seed: number; size: number | null };
  };
  names: string[];
  items: { file: string; points: Point[]; visibility: Visibility[] }[];
  skeleton: [number, number][];
  flipPairs: [number, number][];
  normPair: [number, number];
  colors: string[];
}

export interface WriteDemoOptions {
  regime: DemoRegime;
  count: number;
  seed: number;
  /** Crop regime image side (default 112). */
  size?: number;
  /** Frame and rig regimes: frame size (default 640 x 480 frame, 320 x 240 rig). */
  frameWidth?: number;
  frameHeight?: number;
  /** Probability of an occluder over one landmark (default 0.2). */
  occlusionProb?: number;
  /** Called after each image is written. */
  onProgress?: (done: number, total: number) => void;
}

/** labels.json text: one line per top-level field and per item (readable, small diffs). */
function formatLabels(labels: DemoLabels): string {
  const { items, ...rest } = labels;
  const fields = Object.entries(rest).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  const lines = items.map((item) => `    ${JSON.stringify(item)}`);
  return `{\n${fields.join(',\n')},\n  "items": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/** Rounds coordinates to 1/1000 pixel: exact enough, and short, stable JSON. */
function roundPoint(p: Point): Point {
  return [Math.round(p[0] * 1000) / 1000, Math.round(p[1] * 1000) / 1000];
}

export const DEMO_SOURCE =
  'Landmark Studio procedural demo generator (src-main/ml/demo): stylised critters drawn from code';

/**
 * Generates `count` images into `dir` (created if needed; existing images/ PNGs of earlier runs
 * with the same names are overwritten) and writes labels.json last. Deterministic for a seed.
 */
export async function writeDemoDataset(dir: string, options: WriteDemoOptions): Promise<DemoLabels> {
  const { regime, count, seed } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`Demo dataset count must be a positive integer, got ${count}`);
  if (!Number.isInteger(seed)) throw new Error(`Demo dataset seed must be an integer, got ${seed}`);
  const imagesDir = path.join(dir, 'images');
  await fs.mkdir(imagesDir, { recursive: true });
  const items: DemoLabels['items'] = [];
  const digits = Math.max(6, String(count - 1).length);
  // PNG encoding runs on sharp's threads while the next images are drawn; a few in flight.
  const encoding = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i++) {
    const sample = renderDemoSample(seed, i, {
      regime,
      size: options.size,
      frameWidth: options.frameWidth,
      frameHeight: options.frameHeight,
      occlusionProb: options.occlusionProb,
    });
    const file = `${String(i).padStart(digits, '0')}.png`;
    // Fixed encoder settings and no metadata: the same seed gives the same bytes.
    const job = sharp(sample.rgb, { raw: { width: sample.width, height: sample.height, channels: 3 } })
      .png({ compressionLevel: 6, adaptiveFiltering: true })
      .toFile(path.join(imagesDir, file))
      .finally(() => encoding.delete(job));
    job.catch(() => undefined); // awaited below; this only stops an "unhandled rejection"
    encoding.add(job);
    items.push({ file, points: sample.points.map(roundPoint), visibility: sample.visibility });
    options.onProgress?.(i + 1, count);
    if (encoding.size >= 4) await Promise.race(encoding);
  }
  await Promise.all(encoding);
  const schema = demoSchema(regime);
  const labels: DemoLabels = {
    meta: {
      source: DEMO_SOURCE,
      license: 'CC0-1.0 (generated images, no third-party content)',
      generator: { regime, count, seed, size: regime === 'crop' ? (options.size ?? 112) : null },
    },
    names: schema.names,
    items,
    skeleton: schema.skeleton,
    flipPairs: schema.flipPairs,
    normPair: schema.normPair,
    colors: schema.colors,
  };
  const tmp = path.join(dir, `labels.json.${process.pid}.tmp`);
  await fs.writeFile(tmp, formatLabels(labels));
  await fs.rename(tmp, path.join(dir, 'labels.json'));
  return labels;
}

/**
 * Writes a fresh demo dataset into `dir`, first removing the images/ and labels.json of a previous
 * one. Refuses a non-empty folder whose labels.json this generator did not write, so a mistyped
 * path cannot wipe someone's images.
 */
export async function replaceDemoDataset(dir: string, options: WriteDemoOptions): Promise<DemoLabels> {
  let entries: string[] = [];
  try {
    entries = await fs.readdir(dir);
  } catch {
    // does not exist yet
  }
  if (entries.length > 0) {
    let source: unknown;
    try {
      source = (JSON.parse(await fs.readFile(path.join(dir, 'labels.json'), 'utf8')) as { meta?: { source?: unknown } })
        .meta?.source;
    } catch {
      source = undefined;
    }
    if (source !== DEMO_SOURCE)
      throw new Error(
        `"${dir}" is not empty and holds no demo dataset written by this generator: choose another folder`,
      );
    await fs.rm(path.join(dir, 'images'), { recursive: true, force: true });
    await fs.rm(path.join(dir, 'labels.json'), { force: true });
  }
  return writeDemoDataset(dir, options);
}

/**
 * The generator's ground truth as a labels.json the labels importer reads (docs/formats.md:
 * pairs by name, occlusion as a third point element), keeping the items whose file is in
 * `files` (all when omitted): how the demo project and `landmark-studio demo` label images.
 */
export function importableLabelsJson(labels: DemoLabels, files?: ReadonlySet<string>): string {
  const name = (i: number) => labels.names[i]!;
  const pair = ([a, b]: [number, number]) => [name(a), name(b)];
  return JSON.stringify({
    meta: labels.meta,
    names: labels.names,
    edges: labels.skeleton.map(pair),
    flipPairs: labels.flipPairs.map(pair),
    normPair: pair(labels.normPair),
    items: labels.items
      .filter((item) => !files || files.has(item.file))
      .map((item) => ({
        file: item.file,
        points: item.points.map((p, k) =>
          item.visibility[k] === 'occluded' ? [p[0], p[1], 'occluded'] : [p[0], p[1]],
        ),
      })),
  });
}
