// Where the io tests find the shared real datasets (never copied into the repo). Tests using them
// skip visibly when the folder is absent (a fresh clone outside this workplace).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
