// Nearest-neighbour matching by cosine similarity (paper 001 Sec. 4.2, after DVE): a query
// descriptor against every cell of a target map, its best cell refined to sub-cell precision, and
// how sure the match is: the peak similarity and its margin over the best other peak away from it
// (a left/right swap shows as a second peak nearly as high as the first).
import type { Point } from '../../../src-shared/geometry.js';
import type { DescriptorMap } from './descriptors.js';

/** Cells around the peak that are not a second peak: a tenth of the grid's longer side, at least 2. */
export function secondPeakExclusion(map: Pick<DescriptorMap, 'width' | 'height'>): number {
  return Math.max(2, Math.round(Math.max(map.width, map.height) / 10));
}

/** Cosine similarity of `query` (unit, length dim) with every cell of `map`: [height * width]. */
export function similarityMap(map: DescriptorMap, query: Float32Array): Float32Array {
  if (query.length !== map.dim)
    throw new Error(`a ${query.length}-D query cannot be matched against ${map.dim}-D descriptors`);
  const cells = map.width * map.height;
  const out = new Float32Array(cells);
  for (let c = 0; c < cells; c++) {
    let dot = 0;
    const base = c * map.dim;
    for (let k = 0; k < map.dim; k++) dot += query[k]! * map.data[base + k]!;
    out[c] = dot;
  }
  return out;
}

export interface GridMatch {
  /** Refined match, continuous grid coordinates (cell j's centre at j). */
  point: Point;
  /** Similarity at the best cell. */
  score: number;
  /** The best local maximum farther than `secondPeakExclusion` cells from the match; null if none. */
  second: { point: Point; score: number } | null;
  /** score - second.score (score + 1 without a second peak: the lowest similarity is -1). */
  margin: number;
}

/** Vertex offset of the parabola through (-1, a), (0, b), (1, c), within +-0.5 (0 at a flat top). */
export function parabolaOffset(a: number, b: number, c: number): number {
  const curvature = a - 2 * b + c;
  if (!(curvature < 0)) return 0;
  return Math.min(0.5, Math.max(-0.5, (0.5 * (a - c)) / curvature));
}

/** Peak of a similarity map with sub-cell refinement (a parabola per axis through the peak's neighbours). */
export function findPeaks(similarity: Float32Array, width: number, height: number): GridMatch {
  if (similarity.length !== width * height || similarity.length === 0)
    throw new Error(`a similarity map of ${similarity.length} values is not ${width}x${height}`);
  let best = 0;
  for (let c = 1; c < similarity.length; c++) if (similarity[c]! > similarity[best]!) best = c;
  const bx = best % width;
  const by = Math.floor(best / width);
  const at = (x: number, y: number): number => similarity[y * width + x]!;
  const dx = bx > 0 && bx < width - 1 ? parabolaOffset(at(bx - 1, by), at(bx, by), at(bx + 1, by)) : 0;
  const dy = by > 0 && by < height - 1 ? parabolaOffset(at(bx, by - 1), at(bx, by), at(bx, by + 1)) : 0;
  const radius = secondPeakExclusion({ width, height });
  let second: GridMatch['second'] = null;
  // The cheap test first: this runs over every cell of every predicted point's map.
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = similarity[y * width + x]!;
      if (second && v <= second.score) continue;
      if ((x - bx) * (x - bx) + (y - by) * (y - by) <= radius * radius) continue;
      let isMaximum = true;
      for (let oy = -1; oy <= 1 && isMaximum; oy++)
        for (let ox = -1; ox <= 1; ox++) {
          const nx = x + ox;
          const ny = y + oy;
          if ((ox || oy) && nx >= 0 && ny >= 0 && nx < width && ny < height && at(nx, ny) > v) {
            isMaximum = false;
            break;
          }
        }
      if (isMaximum) second = { point: [x, y], score: v };
    }
  const score = at(bx, by);
  return { point: [bx + dx, by + dy], score, second, margin: second ? score - second.score : score + 1 };
}
