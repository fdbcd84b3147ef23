// The procedural demo dataset: critters (critter.ts) on cluttered backgrounds, with exact
// landmark positions and visibilities. License-clean (everything is drawn here) and fast.
// Two regimes:
// - 'crop': aligned crops as in the papers: the critter fills a size x size image, roughly
//   centred and upright (+-15 degrees);
// - 'frame': a 640 x 480 frame where the critter covers about 5% of the area, anywhere, at any
//   orientation, among more clutter;
// - 'rig': a fixed rig (a runway filmed with a mirror): the top half of a 320 x 240 frame shows
//   the critter heading right (+-10 degrees) anywhere along the runway, the bottom half its mirror
//   image (the frame mirrored vertically), with its own point names (*_top, *_bot).
// Sample `index` of seed `seed` is the same whatever else is generated (per-item random streams).
import type { Visibility } from '../../../src-shared/domain.js';
import type { Point } from '../../../src-shared/geometry.js';
import { createRng, mixSeed, type Rng } from '../../../src-shared/random.js';
import {
  CRITTER_COLORS,
  CRITTER_FLIP_PAIRS,
  CRITTER_KEYPOINTS,
  CRITTER_NORM_PAIR,
  CRITTER_SKELETON,
  drawCritter,
  landmarkPart,
  mirrorPose,
  placePoint,
  poseBounds,
  sampleCritterLook,
  sampleCritterPose,
  type CritterPose,
  type Placement,
} from './critter.js';
import { circle, ellipse, hsv, polygon, Raster, stroke, valueNoise, type Rgb } from './raster.js';

export const DEMO_REGIMES = ['crop', 'frame', 'rig'] as const;
export type DemoRegime = (typeof DEMO_REGIMES)[number];

/** A regime's keypoints: names, and pairs / edges / normalisation as indices into them. */
export interface DemoSchema {
  names: string[];
  flipPairs: [number, number][];
  skeleton: [number, number][];
  normPair: [number, number];
  colors: string[];
}

/** The critter's keypoints; the rig has them twice, the top view's (*_top) then the mirror's (*_bot). */
export function demoSchema(regime: DemoRegime): DemoSchema {
  const views = regime === 'rig' ? ['_top', '_bot'] : [''];
  const k = CRITTER_KEYPOINTS.length;
  const pairs = (list: readonly (readonly [number, number])[]): [number, number][] =>
    views.flatMap((_, v) => list.map(([a, b]): [number, number] => [a + v * k, b + v * k]));
  return {
    names: views.flatMap((suffix) => CRITTER_KEYPOINTS.map((name) => name + suffix)),
    flipPairs: pairs(CRITTER_FLIP_PAIRS),
    skeleton: pairs(CRITTER_SKELETON),
    normPair: [CRITTER_NORM_PAIR[0], CRITTER_NORM_PAIR[1]],
    colors: views.flatMap(() => CRITTER_COLORS),
  };
}

export interface DemoOptions {
  regime: DemoRegime;
  /** Crop regime: image side in pixels (default 112). */
  size?: number;
  /** Frame and rig regimes: frame size (default 640 x 480 frame, 320 x 240 rig). */
  frameWidth?: number;
  frameHeight?: number;
  /** Probability that an occluder is drawn over one landmark (default 0.2). */
  occlusionProb?: number;
}

export interface DemoSample {
  width: number;
  height: number;
  /** 8-bit RGB, HWC. */
  rgb: Uint8Array;
  /** Landmarks (demoSchema(regime).names order), continuous pixel coordinates (pixel centres at +0.5). */
  points: Point[];
  /** 'occluded' where something is drawn over the landmark; never 'absent'. */
  visibility: Visibility[];
}

function randomColour(rng: Rng, saturation: [number, number], value: [number, number]): Rgb {
  return hsv(rng.next(), rng.uniform(...saturation), rng.uniform(...value));
}

/** Gradient + mottled noise + random shapes. */
function drawBackground(r: Raster, rng: Rng, clutter: number, scale: number): void {
  const a = randomColour(rng, [0.05, 0.5], [0.25, 0.85]);
  const b = randomColour(rng, [0.05, 0.5], [0.25, 0.85]);
  const angle = rng.uniform(0, 2 * Math.PI);
  const dx = Math.cos(angle) / Math.max(r.width, r.height);
  const dy = Math.sin(angle) / Math.max(r.width, r.height);
  const noise = valueNoise(() => rng.next(), rng.uniform(0.1, 0.4) * scale);
  const amount = rng.uniform(0.1, 0.4);
  r.fillSmooth((x, y, out) => {
    const t = Math.min(1, Math.max(0, 0.5 + (x - r.width / 2) * dx + (y - r.height / 2) * dy));
    const n = 1 + amount * (noise(x, y) - 0.5);
    out[0] = (a[0] + t * (b[0] - a[0])) * n;
    out[1] = (a[1] + t * (b[1] - a[1])) * n;
    out[2] = (a[2] + t * (b[2] - a[2])) * n;
  }, 4);
  for (let i = 0; i < clutter; i++) drawClutterShape(r, rng, scale, 0);
}

/** One random shape (leaf, pebble, twig, blob, polygon). */
function drawClutterShape(r: Raster, rng: Rng, scale: number, part: number, centre?: Point, size?: number): void {
  const [cx, cy] = centre ?? [rng.uniform(0, r.width), rng.uniform(0, r.height)];
  const s = size ?? scale * rng.uniform(0.05, 0.35);
  const colour = randomColour(rng, [0.1, 0.8], [0.15, 0.9]);
  // a third of the shapes (and every occluder) mottled, the rest flat: texture costs a call per pixel
  const textured = part !== 0 || rng.chance(0.35) ? valueNoise(() => rng.next(), Math.max(1.5, s * 0.3)) : null;
  const paint = textured
    ? (x: number, y: number, out: number[]): void => {
        const n = 0.75 + 0.5 * textured(x, y);
        out[0] = colour[0] * n;
        out[1] = colour[1] * n;
        out[2] = colour[2] * n;
      }
    : colour;
  const opacity = part === 0 && rng.chance(0.3) ? rng.uniform(0.4, 0.8) : 1;
  const kind = rng.int(0, 3);
  let shape;
  if (kind === 0) shape = ellipse(cx, cy, s, s * rng.uniform(0.4, 1), rng.uniform(0, Math.PI));
  else if (kind === 1) {
    const n = rng.int(3, 7);
    const start = rng.uniform(0, 2 * Math.PI);
    shape = polygon(
      Array.from({ length: n }, (_, k) => {
        const t = start + (2 * Math.PI * k) / n;
        const rad = s * rng.uniform(0.6, 1.1);
        return [cx + rad * Math.cos(t), cy + rad * Math.sin(t)] as const;
      }),
    );
  } else if (kind === 2 && part === 0) {
    const t = rng.uniform(0, Math.PI);
    const mid: [number, number] = [cx + rng.normal(0, s * 0.3), cy + rng.normal(0, s * 0.3)];
    shape = stroke(
      [[cx - s * Math.cos(t), cy - s * Math.sin(t)], mid, [cx + s * Math.cos(t), cy + s * Math.sin(t)]],
      [s * 0.08, s * 0.1, s * 0.05],
    );
  } else shape = circle(cx, cy, s * rng.uniform(0.5, 1));
  r.draw(shape[0], shape[1], paint, part, opacity);
}

function rotatedBounds(pose: CritterPose, angle: number): { x0: number; y0: number; x1: number; y1: number } {
  const b = poseBounds(pose);
  const corners = [
    [b.x0, b.y0],
    [b.x1, b.y0],
    [b.x0, b.y1],
    [b.x1, b.y1],
  ].map(([x, y]) => placePoint({ scale: 1, angle, tx: 0, ty: 0 }, [x!, y!]));
  return {
    x0: Math.min(...corners.map((c) => c[0])),
    y0: Math.min(...corners.map((c) => c[1])),
    x1: Math.max(...corners.map((c) => c[0])),
    y1: Math.max(...corners.map((c) => c[1])),
  };
}

/** Where the critter goes: fills a crop upright, or ~5% of a frame anywhere at any angle. */
function samplePlacement(rng: Rng, pose: CritterPose, regime: DemoRegime, width: number, height: number): Placement {
  const angle = regime === 'crop' ? rng.uniform(-15, 15) * (Math.PI / 180) : rng.uniform(-Math.PI, Math.PI);
  const b = rotatedBounds(pose, angle);
  const bw = b.x1 - b.x0;
  const bh = b.y1 - b.y0;
  let s: number;
  if (regime === 'crop') s = (rng.uniform(0.8, 0.95) * Math.min(width, height)) / Math.max(bw, bh);
  else s = Math.sqrt((rng.uniform(0.035, 0.07) * width * height) / (bw * bh));
  // keep the whole padded critter inside the image; centre it (with jitter) in a crop
  const freeX = Math.max(0, width - s * bw);
  const freeY = Math.max(0, height - s * bh);
  const ox = regime === 'crop' ? freeX / 2 + rng.uniform(-0.3, 0.3) * freeX : rng.uniform(0, freeX);
  const oy = regime === 'crop' ? freeY / 2 + rng.uniform(-0.3, 0.3) * freeY : rng.uniform(0, freeY);
  return { scale: s, angle, tx: ox - s * b.x0, ty: oy - s * b.y0 };
}

/**
 * The rig's top view: heading right (+-10 degrees) anywhere along the runway (the top half's
 * width), as large as the half's height allows (85-100% of it), a little jitter across it.
 */
function sampleRigPlacement(rng: Rng, pose: CritterPose, width: number, height: number): Placement {
  const angle = (90 + rng.uniform(-10, 10)) * (Math.PI / 180);
  const b = rotatedBounds(pose, angle);
  const margin = 0.05 * height;
  const s = rng.uniform(0.85, 1) * Math.min((height / 2 - 2 * margin) / (b.y1 - b.y0), (0.6 * width) / (b.x1 - b.x0));
  const ox = rng.uniform(0, Math.max(0, width - s * (b.x1 - b.x0)));
  const oy = margin + rng.uniform(0, Math.max(0, height / 2 - 2 * margin - s * (b.y1 - b.y0)));
  return { scale: s, angle, tx: ox - s * b.x0, ty: oy - s * b.y0 };
}

/** Renders sample `index` of the dataset with seed `seed`. */
export function renderDemoSample(seed: number, index: number, options: DemoOptions): DemoSample {
  const regime = options.regime;
  if (!DEMO_REGIMES.includes(regime))
    throw new Error(`Unknown demo regime "${String(regime)}" (expected ${DEMO_REGIMES.join(', ')})`);
  const frameSize = regime === 'rig' ? [320, 240] : [640, 480];
  const width = regime === 'crop' ? (options.size ?? 112) : (options.frameWidth ?? frameSize[0]!);
  const height = regime === 'crop' ? (options.size ?? 112) : (options.frameHeight ?? frameSize[1]!);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16)
    throw new Error(`Demo image size must be whole pixels, at least 16, got ${width}x${height}`);
  const rng = createRng(mixSeed(seed, index, regime === 'crop' ? 1 : regime === 'frame' ? 2 : 3));
  const pose = sampleCritterPose(rng);
  const look = sampleCritterLook(rng);
  const placement =
    regime === 'rig' ? sampleRigPlacement(rng, pose, width, height) : samplePlacement(rng, pose, regime, width, height);
  const r = new Raster(width, height);
  // clutter scale: the critter's size, so crops and frames get shapes of comparable size
  const clutter = regime === 'crop' ? rng.int(3, 8) : regime === 'frame' ? rng.int(15, 30) : rng.int(4, 10);
  drawBackground(r, rng, clutter, placement.scale * 2.2);
  const points = drawCritter(r, pose, look, placement);
  if (regime === 'rig') {
    // the mirror's edge across the middle, then the critter's mirror image below it
    r.draw(
      ...polygon([
        [0, height / 2 - 1],
        [width, height / 2 - 1],
        [width, height / 2 + 1],
        [0, height / 2 + 1],
      ]),
      [40, 40, 45],
    );
    const mirrored = { ...placement, angle: -placement.angle, ty: height - placement.ty };
    points.push(...drawCritter(r, mirrorPose(pose), look, mirrored));
  }
  if (rng.chance(options.occlusionProb ?? 0.2)) {
    const target = points[rng.int(0, points.length - 1)]!;
    const radius = placement.scale * rng.uniform(0.09, 0.14);
    const offset = radius * rng.uniform(0, 0.4);
    const t = rng.uniform(0, 2 * Math.PI);
    drawClutterShape(
      r,
      rng,
      placement.scale,
      1,
      [target[0] + offset * Math.cos(t), target[1] + offset * Math.sin(t)],
      radius,
    );
  }
  // both views of the rig draw their parts with the critter's part ids
  const visibility: Visibility[] = points.map((p, k) =>
    r.showsPartNear(p[0], p[1], landmarkPart(k % CRITTER_KEYPOINTS.length)) ? 'visible' : 'occluded',
  );
  const pixelNoise = 4; // sensor-like; more only makes the PNGs large
  return { width, height, rgb: r.toBytes(pixelNoise, () => rng.next()), points, visibility };
}
