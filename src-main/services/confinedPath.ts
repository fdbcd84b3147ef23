// Resolving a stored relative path to a real file that is guaranteed to lie inside a folder:
// checked on real paths, so neither `../` in the path nor a symlink pointing out gets through.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../src-shared/api.js';

export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  // `..name` is a child whose name starts with two dots, `..` or `../x` lies outside.
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** The real path of `root/relPath`; ApiError('not_found') when missing or outside `root`. */
export async function confinedRealpath(root: string, relPath: string): Promise<string> {
  const realRoot = await realpath(root).catch(() => {
    throw new ApiError(
      'not_found',
      `The image folder ${root} is missing: relink the project to where the images are now.`,
    );
  });
  const real = await realpath(path.resolve(realRoot, relPath)).catch(() => {
    throw new ApiError(
      'not_found',
      `The file ${relPath} is missing from the image folder ${root}: relink the project.`,
    );
  });
  if (!isInside(realRoot, real)) {
    throw new ApiError('not_found', `Refused ${relPath}: it resolves outside the image folder ${root}.`);
  }
  return real;
}
