// Where the io tests find the shared real datasets (never copied into the repo). Tests using them
// skip visibly when the folder is absent (a fresh clone outside this workplace).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { CropBox } from '../../../src-shared/domain.js';
import type { LabelSet } from './labelSet.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const datasetsDir = path.resolve(repoRoot, '../shared/datasets');
export const haveDatasets = existsSync(path.join(datasetsDir, 'README.md'));
export const skipReason = `shared datasets not found at ${datasetsDir}`;

/**
 * Every folder holding a labels.json, relative to datasetsDir (mmpose domains one by one). Without
 * the datasets, one placeholder, so that the tests over them still show up as skipped.
 */
export function labelFolders(): string[] {
  if (!haveDatasets) return ['mmpose_testdata/(absent)'];
  const top = readdirSync(datasetsDir).filter((d) => existsSync(path.join(datasetsDir, d, 'labels.json')));
  const mmpose = readdirSync(path.join(datasetsDir, 'mmpose_testdata')).map((d) => `mmpose_testdata/${d}`);
  return [...top, ...mmpose].sort();
}

export const readDataset = (rel: string) => readFileSync(path.join(datasetsDir, rel), 'utf8');

/** A dataset's labels.json as the shared datasets hold it (ml/demo/writeDataset.ts layout). */
export interface RawLabels {
  names: string[];
  items: { file: string; points: ([number, number] | null)[]; bbox?: [number, number, number, number] }[];
}

export const readRawLabels = (folder: string): RawLabels =>
  JSON.parse(readDataset(`${folder}/labels.json`)) as RawLabels;

type RawItem = RawLabels['items'][number];

/**
 * What every format must bring back of a dataset's labels.json: the trimmed names, one item per
 * raw item with its file and its points as visible, and a crop exactly where a file holds
 * several items; `checkCrop` then checks each crop against its raw item.
 */
export function expectItemsOf(set: LabelSet, raw: RawLabels, checkCrop: (crop: CropBox, item: RawItem) => void): void {
  expect(set.keypoints).toEqual(raw.names.map((n) => n.trim()));
  expect(set.items).toHaveLength(raw.items.length);
  const perFile = new Map<string, number>();
  for (const item of raw.items) perFile.set(item.file, (perFile.get(item.file) ?? 0) + 1);
  set.items.forEach((item, i) => {
    const r = raw.items[i]!;
    expect(item.file).toBe(r.file);
    expect(item.points).toEqual(r.points.map((p) => p && { x: p[0], y: p[1], visibility: 'visible' }));
    expect(item.crop !== null).toBe(perFile.get(r.file)! > 1);
    if (item.crop) checkCrop(item.crop, r);
  });
}
