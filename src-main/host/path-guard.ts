// Confinement of served files to a folder, checked again at the transport whatever services
// answered. On real paths (symlinks resolved), so a link inside the folder that points outside
// it is refused like a `../` path.
import { realpath } from 'node:fs/promises';
import { isInside } from '../services/confinedPath.js';

async function realpathOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/** The real path of `target` if it exists and lies inside one of `roots`, else null. */
export async function confinedRealpath(target: string, roots: readonly string[]): Promise<string | null> {
  const real = await realpathOrNull(target);
  if (real === null) return null;
  for (const root of roots) {
    const realRoot = await realpathOrNull(root);
    if (realRoot !== null && isInside(realRoot, real)) return real;
  }
  return null;
}
