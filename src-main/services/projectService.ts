// project.create / open / info / relink: the project folder, its image root and the scans.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ProgressEvent, ProjectInfo } from '../../src-shared/domain.js';
import { ProjectLockedError } from '../store/database.js';
import type { ScannedFile } from '../store/images.js';
import { ProjectStore } from '../store/projectStore.js';
import type { PathPolicy } from './pathPolicy.js';
import { scanImageRoot } from './scanImages.js';
import type { ProjectSession } from './session.js';

type ProjectHandlers = Pick<ApiHandlers, 'project.create' | 'project.open' | 'project.info' | 'project.relink'>;

export const MISSING_PROBLEM =
  'missing: not found in the image folder at the last relink (relink to the folder that holds it)';

export function projectHandlers(
  session: ProjectSession,
  policy: PathPolicy,
  onProgress?: (e: ProgressEvent) => void,
): ProjectHandlers {
  return {
    async 'project.create'({ projectDir, imageRoot, name }) {
      session.checkReplaceable();
      const root = await policy.check(imageRoot, 'folder', 'image folder');
      const dir = await policy.check(projectDir, 'write', 'project folder');
      if (ProjectStore.exists(dir)) {
        throw new ApiError(
          'conflict',
          `A project already exists in ${dir}: open it instead, or choose another folder.`,
        );
      }
      const dirStat = await stat(dir).catch(() => null);
      if (dirStat && !dirStat.isDirectory())
        throw new ApiError('invalid', `The project location ${dir} is a file, not a folder.`);
      // Scan before creating anything, so a scan that fails leaves no half-made project.
      const files = await scanImageRoot(root, { exclude: [dir], onProgress });
      const store = ProjectStore.create(dir, { name: name ?? path.basename(dir), imageRoot: root });
      try {
        store.transaction(() => store.images.insertScanned(files));
      } catch (err) {
        store.close();
        throw err;
      }
      session.replace(store);
      return projectInfo(store);
    },

    async 'project.open'({ projectDir }) {
      session.checkReplaceable();
      return openProject(session, await policy.check(projectDir, 'folder', 'project folder'));
    },

    'project.info'() {
      return projectInfo(session.require());
    },

    async 'project.relink'({ imageRoot }) {
      const store = session.require();
      const root = await policy.check(imageRoot, 'folder', 'image folder');
      const scanned = await scanImageRoot(root, { exclude: [store.dir], onProgress });
      return store.transaction(() => applyRelink(store, root, scanned));
    },
  };
}

/**
 * Points the project at a new image root: each known file is found again by its relative path,
 * else by its content hash (the first unclaimed file with that hash); files found nowhere are
 * kept (with their labels) and marked missing; files new to the project are added.
 */
function applyRelink(
  store: ProjectStore,
  root: string,
  scanned: readonly ScannedFile[],
): { relinked: number; missing: string[]; added: number } {
  const byPath = new Map(scanned.map((f) => [f.relPath, f]));
  const claimed = new Set<string>();
  const known = store.images.allFiles();
  const found = new Map<string, ScannedFile>(); // known path -> the file it now is
  for (const k of known) {
    const same = byPath.get(k.relPath);
    if (same) {
      found.set(k.relPath, same);
      claimed.add(same.relPath);
    }
  }
  const byHash = new Map<string, ScannedFile[]>();
  for (const f of scanned)
    if (f.hash && !claimed.has(f.relPath)) byHash.set(f.hash, [...(byHash.get(f.hash) ?? []), f]);
  const missing: string[] = [];
  for (const k of known) {
    if (found.has(k.relPath)) continue;
    const moved = k.hash ? byHash.get(k.hash)?.find((f) => !claimed.has(f.relPath)) : undefined;
    if (moved) {
      found.set(k.relPath, moved);
      claimed.add(moved.relPath);
    } else {
      missing.push(k.relPath);
    }
  }
  // A file moves only onto a path no known file has (known paths that still exist claimed
  // themselves above), so renames cannot collide.
  for (const [oldPath, file] of found) {
    if (oldPath !== file.relPath) store.images.rename(oldPath, file.relPath);
    store.images.updateFile(file);
  }
  for (const relPath of missing) store.images.setProblem(relPath, MISSING_PROBLEM);
  const added = store.images.insertScanned(scanned.filter((f) => !claimed.has(f.relPath)));
  store.settings.set('imageRoot', root);
  return { relinked: found.size, missing, added };
}

export function projectInfo(store: ProjectStore): ProjectInfo {
  const counts = store.images.counts();
  return {
    dir: store.dir,
    name: store.settings.require('name'),
    imageRoot: store.settings.require('imageRoot'),
    schemaVersion: store.schemaVersion,
    counts: {
      images: counts.images,
      labeledImages: counts.labeledImages,
      annotations: store.annotations.count(),
      problems: counts.problems,
      keypoints: store.keypoints.list().length,
      inSplits: counts.inSplits,
      labeledTrain: counts.labeledTrain,
      labeledTest: counts.labeledTest,
    },
  };
}

/** Makes the project in `dir` (an allowed, resolved path) the open one. */
export function openProject(session: ProjectSession, dir: string): ProjectInfo {
  if (!ProjectStore.exists(dir)) {
    throw new ApiError(
      'not_found',
      `No project in ${dir}: it has no project.sqlite. Create a project there, or pick the folder that holds one.`,
    );
  }
  let store: ProjectStore;
  try {
    store = ProjectStore.open(dir);
  } catch (err) {
    if (err instanceof ProjectLockedError) throw new ApiError('conflict', err.message);
    throw new ApiError(
      'invalid',
      `Cannot open the project in ${dir}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  session.replace(store);
  return projectInfo(store);
}
