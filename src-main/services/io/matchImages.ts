// Matching the image references of a label file (labeled-data/video1/img005.png, file_name,
// C:\data\faces\a.jpg) to the project's images (paths relative to the image root). Rules, in
// order:
// 1. the same relative path, after normalising separators (\ -> /), "./" and repeated slashes;
// 2. otherwise the project image sharing the longest tail of path segments with the reference,
//    compared without case and in Unicode NFC (so Windows/macOS names and a different root
//    folder still match); the bare file name is the shortest tail. Several images sharing the
//    longest tail make the reference ambiguous: it stays unmatched and the reason names them.
// Two different references landing on the same image are both unmatched, so that no image gets
// two sets of labels.

export interface UnmatchedRef {
  ref: string;
  /** Why: no image of that name, or several candidates (named). */
  reason: string;
}

export interface ImageRefMatch {
  /** Reference -> project relPath. */
  matches: Map<string, string>;
  unmatched: UnmatchedRef[];
}

function segments(path: string): string[] {
  return path
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
}

const folded = (segment: string) => segment.normalize('NFC').toLowerCase();

/** Number of trailing segments two folded paths share. */
function sharedTail(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

const listed = (paths: string[]) =>
  paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, and ${paths.length - 3} more` : '');

/** Matches each distinct reference to at most one project image (rules above). */
export function matchImageRefs(refs: readonly string[], projectRelPaths: readonly string[]): ImageRefMatch {
  const exact = new Map<string, string>();
  const byName = new Map<string, { relPath: string; folded: string[] }[]>();
  for (const relPath of projectRelPaths) {
    const segs = segments(relPath);
    exact.set(segs.join('/'), relPath);
    const foldedSegs = segs.map(folded);
    const name = foldedSegs.at(-1) ?? '';
    const sameName = byName.get(name) ?? [];
    sameName.push({ relPath, folded: foldedSegs });
    byName.set(name, sameName);
  }

  const found = new Map<string, string>();
  const unmatched: UnmatchedRef[] = [];
  for (const ref of new Set(refs)) {
    const segs = segments(ref);
    const same = exact.get(segs.join('/'));
    if (same !== undefined) {
      found.set(ref, same);
      continue;
    }
    const foldedSegs = segs.map(folded);
    const candidates = byName.get(foldedSegs.at(-1) ?? '') ?? [];
    if (candidates.length === 0) {
      unmatched.push({ ref, reason: 'no project image has this file name' });
      continue;
    }
    let best = 0;
    let top: string[] = [];
    for (const c of candidates) {
      const tail = sharedTail(foldedSegs, c.folded);
      if (tail > best) [best, top] = [tail, [c.relPath]];
      else if (tail === best) top.push(c.relPath);
    }
    if (top.length > 1)
      unmatched.push({ ref, reason: `ambiguous: ${top.length} project images match (${listed(top)})` });
    else found.set(ref, top[0]!);
  }

  const refsByImage = new Map<string, string[]>();
  for (const [ref, relPath] of found) {
    const imageRefs = refsByImage.get(relPath) ?? [];
    imageRefs.push(ref);
    refsByImage.set(relPath, imageRefs);
  }
  const matches = new Map<string, string>();
  for (const [relPath, imageRefs] of refsByImage) {
    if (imageRefs.length === 1) matches.set(imageRefs[0]!, relPath);
    else
      for (const ref of imageRefs)
        unmatched.push({ ref, reason: `"${relPath}" is also named by ${listed(imageRefs.filter((r) => r !== ref))}` });
  }
  return { matches, unmatched };
}
