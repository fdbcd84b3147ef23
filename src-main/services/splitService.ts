// images.split: every usable image goes to train, val or test; unusable ones to none. Items cut
// from one file (several instances of a photo) always share a split, so no photo is both
// trained on and tested on.
import type { ApiHandlers } from '../../src-shared/api.js';
import { ApiError } from '../../src-shared/api.js';
import type { ImageSummary, Split, SplitCounts } from '../../src-shared/domain.js';
import { createRng } from '../../src-shared/random.js';
import { allItems } from '../jobs/projectData.js';
import type { ProjectSession } from './session.js';

type SplitHandlers = Pick<ApiHandlers, 'images.split'>;

const SHOWN_UNKNOWN = 5;

/** File paths named in a test list: exact relative paths, or file names that are unique in the project. */
function resolveTestFiles(files: readonly string[], names: readonly string[]): Set<string> {
  const byBase = new Map<string, string[]>();
  for (const file of files) {
    const base = file.slice(file.lastIndexOf('/') + 1);
    byBase.set(base, [...(byBase.get(base) ?? []), file]);
  }
  const known = new Set(files);
  const chosen = new Set<string>();
  const unknown: string[] = [];
  const ambiguous: string[] = [];
  for (const raw of names) {
    const name = raw.trim().replaceAll('\\', '/').replace(/^\.\//, '');
    if (name === '') continue;
    if (known.has(name)) chosen.add(name);
    else if (byBase.get(name)?.length === 1) chosen.add(byBase.get(name)![0]!);
    else if ((byBase.get(name)?.length ?? 0) > 1) ambiguous.push(name);
    else unknown.push(name);
  }
  const problems = [
    unknown.length
      ? `${unknown.length} name(s) match no usable image (${unknown.slice(0, SHOWN_UNKNOWN).join(', ')}${unknown.length > SHOWN_UNKNOWN ? ', ...' : ''})`
      : '',
    ambiguous.length
      ? `${ambiguous.length} file name(s) exist in several folders, give their relative path (${ambiguous.slice(0, SHOWN_UNKNOWN).join(', ')})`
      : '',
  ].filter(Boolean);
  if (problems.length)
    throw new ApiError('invalid', `Cannot split by the test list: ${problems.join('; ')}. Nothing was changed.`);
  return chosen;
}

/** How many of `n` a fraction takes: rounded, but at least one when the fraction is positive. */
function share(fraction: number, n: number): number {
  return fraction > 0 ? Math.min(n, Math.max(1, Math.round(fraction * n))) : 0;
}

export function splitHandlers(session: ProjectSession): SplitHandlers {
  return {
    'images.split'({ testFraction, testImages, valFraction, seed }) {
      const store = session.require();
      if ((testFraction === undefined) === (testImages === undefined)) {
        throw new ApiError(
          'invalid',
          'Give either testFraction or testImages (a list of test image names), not both or neither.',
        );
      }
      const items = allItems(store);
      const usable = items.filter((item) => item.problem === null);
      const files = [...new Set(usable.map((item) => item.relPath))];
      const rng = createRng(seed);
      let test: Set<string>;
      if (testImages !== undefined) test = resolveTestFiles(files, testImages);
      else test = new Set(rng.shuffled(files).slice(0, share(testFraction!, files.length)));
      const rest = rng.shuffled(files.filter((f) => !test.has(f)));
      const val = new Set(rest.slice(0, share(valFraction, rest.length)));
      const splitOf = (item: ImageSummary): Split | null =>
        item.problem !== null ? null : test.has(item.relPath) ? 'test' : val.has(item.relPath) ? 'val' : 'train';
      const counts: SplitCounts = { train: 0, val: 0, test: 0, none: 0 };
      store.transaction(() => {
        for (const item of items) {
          const split = splitOf(item);
          store.images.setSplit(item.id, split);
          counts[split ?? 'none']++;
        }
      });
      return counts;
    },
  };
}
