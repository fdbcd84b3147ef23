// Labeled items from a dataset folder in the demo/shared layout (`images/` + `labels.json`, see
// ml/demo/writeDataset.ts and ../shared/datasets/README.md): what the heads' tests and the
// regressor benchmark train and evaluate on.
import fs from 'node:fs';
import path from 'node:path';
import type { Visibility } from '../../../src-shared/domain.js';
import type { LabeledItem } from './labeledExamples.js';

export interface DatasetFolder {
  names: string[];
  flipPairs: [number, number][];
  normPair: [number, number] | null;
  items: LabeledItem[];
}

interface LabelsJson {
  names: string[];
  items: { file: string; points: ([number, number] | null)[]; visibility?: Visibility[] }[];
  flipPairs?: [number, number][];
  normPair?: [number, number];
}

export function readDatasetFolder(dir: string): DatasetFolder {
  const file = path.join(dir, 'labels.json');
  let labels: LabelsJson;
  try {
    labels = JSON.parse(fs.readFileSync(file, 'utf8')) as LabelsJson;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(labels.names) || !Array.isArray(labels.items))
    throw new Error(`${file} has no names/items arrays`);
  return {
    names: labels.names,
    flipPairs: labels.flipPairs ?? [],
    normPair: labels.normPair ?? null,
    items: labels.items.map((item) => ({
      id: item.file,
      path: path.join(dir, 'images', item.file),
      points: item.points.map((p, k) =>
        p === null ? null : { x: p[0], y: p[1], visibility: item.visibility?.[k] ?? 'visible' },
      ),
    })),
  };
}
