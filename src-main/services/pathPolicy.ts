// Where API requests may read and write files: every method that takes a file or folder path
// checks it here first. The open project's folder and image folder are always allowed; beyond
// them a transport says what is (the CLI: everything the person types; serve: its --allow
// folders; Electron: what the person picked in a native dialog). Paths are resolved (relative to
// the working folder, symlinks followed, also those of files still to be created) before the
// check, and the answer for a path outside is the same whether it exists or not.
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';
import { isInside } from './confinedPath.js';

/** read: an existing file; write: a file or folder to create or replace; folder: an existing folder. */
export type PathUse = 'read' | 'write' | 'folder';

/** What a transport allows beyond the open project. */
export type PathAccess =
  | { anywhere: true }
  | {
      anywhere?: false;
      /** Folders (or single files) allowed, read at every check so grants can grow. */
      roots(): readonly string[];
      /** How the person gets a path allowed, ending the refusal message. */
      hint: string;
    };

/** The CLI: the person typed the path on their own machine. */
export const ANYWHERE: PathAccess = { anywhere: true };

/** Nothing beyond the open project: the default of createServices. */
export const PROJECT_ONLY: PathAccess = {
  roots: () => [],
  hint: "only the open project's folder and image folder are allowed",
};

export interface PathPolicy {
  /**
   * The real path `target` names, when the policy allows it for `use`; else ApiError:
   * 'not_allowed' (the same whether the path exists or not), 'not_found' or 'invalid' (wrong
   * kind) for allowed paths. `what` names the path in messages ("file", "image folder").
   */
  check(target: string, use: PathUse, what?: string): Promise<string>;
}

/** Symbolic links followed at most this deep (the kernel's own limit is 40). */
const MAX_LINK_DEPTH = 40;

/**
 * The real path of `target`, also when it (or some of its parents) does not exist yet: the
 * real path of the nearest existing parent with the rest appended, and a dangling symbolic link
 * replaced by where it points (writing through it would create that file).
 */
export async function resolveRealPath(target: string, depth = 0): Promise<string> {
  const absolute = path.resolve(target);
  try {
    return await realpath(absolute);
  } catch {
    const parent = path.dirname(absolute);
    if (parent === absolute) return absolute;
    const realParent = await resolveRealPath(parent, depth);
    const candidate = path.join(realParent, path.basename(absolute));
    const info = await lstat(candidate).catch(() => null);
    if (info?.isSymbolicLink()) {
      if (depth >= MAX_LINK_DEPTH) throw new ApiError('invalid', `${absolute}: too many levels of symbolic links.`);
      return resolveRealPath(path.resolve(realParent, await readlink(candidate)), depth + 1);
    }
    return candidate;
  }
}

export function createPathPolicy(access: PathAccess, projectRoots: () => readonly string[]): PathPolicy {
  async function allowed(real: string): Promise<boolean> {
    if (access.anywhere) return true;
    for (const root of [...projectRoots(), ...access.roots()]) {
      if (isInside(await resolveRealPath(root), real)) return true;
    }
    return false;
  }

  return {
    async check(target, use, what = use === 'folder' ? 'folder' : 'file') {
      // Messages show the path as asked for (made absolute), never where its links lead.
      const shown = path.resolve(target);
      const real = await resolveRealPath(target);
      if (!(await allowed(real))) {
        const hint = access.anywhere ? '' : ` (${access.hint})`;
        throw new ApiError('not_allowed', `Not allowed: ${shown} is outside the folders this session may use${hint}.`);
      }
      if (use === 'write') return real;
      const info = await stat(real).catch(() => null);
      if (!info) throw new ApiError('not_found', `The ${what} ${shown} does not exist.`);
      if (use === 'read' && !info.isFile()) throw new ApiError('invalid', `The ${what} ${shown} is not a file.`);
      if (use === 'folder' && !info.isDirectory())
        throw new ApiError('invalid', `The ${what} ${shown} is not a folder.`);
      return real;
    },
  };
}

/** Paths the person granted one by one (Electron's dialogs): each allows itself and what lies inside. */
export interface GrantedPaths {
  grant(target: string): void;
  access: PathAccess;
}

export function grantedPaths(hint: string): GrantedPaths {
  const granted = new Set<string>();
  return {
    grant: (target) => granted.add(path.resolve(target)),
    access: { roots: () => [...granted], hint },
  };
}
