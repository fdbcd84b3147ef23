// The demo dataset's object category: a stylised four-legged critter seen from above (a newt /
// cat cartoon) with 11 named landmarks, built from ellipses, tapered strokes and triangles.
// Shape (proportions), pose (spine bend, head turn, leg and tail articulation), texture (stripes,
// spots, mottled noise) and colours vary per sample; every landmark sits on a part with its own
// local structure (pupils, ear tips, toed paws, a tail-base ring, a tail tuft, a pink nose).
//
// Model coordinates: the critter faces -y (head up), about 2.2 units tall; `placeCritter` maps
// them into the image. The animal's left is image left when it faces up (a dorsal view).
import type { Point } from '../../../src-shared/geometry.js';
import type { Rng } from '../../../src-shared/random.js';
import { circle, ellipse, hsv, polygon, stroke, valueNoise, type Paint, type Raster, type Rgb } from './raster.js';

export const CRITTER_KEYPOINTS = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_front_paw',
  'right_front_paw',
  'left_hind_paw',
  'right_hind_paw',
  'tail_base',
  'tail_tip',
] as const;

/** Left/right partners (indices), swapped by horizontal flips. */
export const CRITTER_FLIP_PAIRS: readonly (readonly [number, number])[] = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
];

/** Skeleton edges (indices) drawn between landmarks. */
export const CRITTER_SKELETON: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [1, 3],
  [2, 4],
  [3, 5],
  [4, 6],
  [5, 7],
  [6, 8],
  [7, 9],
  [8, 9],
  [9, 10],
];

/** Normalisation pair for NME: nose to tail base, the body length (eyes are too close together). */
export const CRITTER_NORM_PAIR: readonly [number, number] = [0, 9];

/** Display colours per landmark (#rrggbb), left side warm, right side cool. */
export const CRITTER_COLORS: readonly string[] = [
  '#ff4d4d',
  '#ffb000',
  '#00b3ff',
  '#ff7f00',
  '#3d7dff',
  '#e6e600',
  '#00e6b8',
  '#c8ff00',
  '#00ffd5',
  '#d24dff',
  '#ff4dc4',
];

type V = [number, number];
const add = (a: V, b: V): V => [a[0] + b[0], a[1] + b[1]];
const scale = (a: V, s: number): V => [a[0] * s, a[1] * s];
const turn = (a: V, t: number): V => [a[0] * Math.cos(t) - a[1] * Math.sin(t), a[0] * Math.sin(t) + a[1] * Math.cos(t)];
const unit = (a: V): V => scale(a, 1 / Math.hypot(a[0], a[1]));
/** Perpendicular pointing to the critter's left when `dir` is its heading (y down: (x, y) -> (y, -x)). */
const leftOf = (d: V): V => [d[1], -d[0]];

/** A posed critter in model coordinates. */
export interface CritterPose {
  /** Landmarks, model coordinates, in CRITTER_KEYPOINTS order. */
  landmarks: V[];
  spine: V[];
  spineRadii: number[];
  head: { centre: V; dir: V; a: number; b: number };
  snout: { centre: V; a: number; b: number };
  ears: { base: [V, V, V]; tip: V }[];
  eyes: { centre: V; r: number }[];
  legs: { points: V[]; radii: number[]; paw: V; dir: V; pawR: number; front: boolean }[];
  tail: { points: V[]; radii: number[] };
  tailBaseR: number;
  tuft: { centre: V; dir: V; a: number; b: number };
}

/** Random shape and articulation. */
export function sampleCritterPose(rng: Rng): CritterPose {
  const bodyLen = rng.uniform(0.85, 1.1);
  const bodyW = rng.uniform(0.15, 0.22);
  const bend = rng.uniform(-0.3, 0.3) * bodyLen;
  // spine: quadratic Bezier from neck (top) to tail base, bent sideways
  const p0: V = [0, -bodyLen / 2];
  const p2: V = [0, bodyLen / 2];
  const p1: V = [bend, 0];
  const at = (t: number): V => [
    (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
    (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1],
  ];
  const tangent = (t: number): V =>
    unit([
      2 * (1 - t) * (p1[0] - p0[0]) + 2 * t * (p2[0] - p1[0]),
      2 * (1 - t) * (p1[1] - p0[1]) + 2 * t * (p2[1] - p1[1]),
    ]);
  const spine = Array.from({ length: 11 }, (_, i) => at(i / 10));
  const spineRadii = spine.map((_, i) => bodyW * (0.62 + 0.38 * Math.sin((Math.PI * (i / 10 + 0.1)) / 1.2)));

  // head, turned relative to the spine's front direction (-tangent at t = 0 points forward)
  const forward0 = scale(tangent(0), -1);
  const headDir = turn(forward0, rng.uniform(-0.45, 0.45));
  const headA = rng.uniform(0.2, 0.25);
  const headB = rng.uniform(0.16, 0.2);
  const headCentre = add(p0, scale(headDir, headA * 0.7));
  const left = leftOf(headDir);
  const snoutA = headA * rng.uniform(0.42, 0.55);
  const snoutCentre = add(headCentre, scale(headDir, headA * 0.8));
  const nose = add(snoutCentre, scale(headDir, snoutA * 0.8));
  const eyeR = rng.uniform(0.05, 0.06);
  const eyes = [1, -1].map((side) => ({
    centre: add(add(headCentre, scale(headDir, headA * 0.3)), scale(left, side * headB * 0.55)),
    r: eyeR,
  }));
  const earLen = rng.uniform(0.15, 0.22);
  const earAngle = rng.uniform(-0.3, 0.6); // from sideways, positive = towards the front
  const ears = [1, -1].map((side) => {
    const base = add(add(headCentre, scale(headDir, -headA * 0.3)), scale(left, side * headB * 0.8));
    const out = unit(add(scale(left, side * Math.cos(earAngle)), scale(headDir, Math.sin(earAngle))));
    const b1 = add(base, scale(headDir, 0.08));
    const b2 = add(base, scale(headDir, -0.08));
    return { base: [base, b1, b2] as [V, V, V], tip: add(base, scale(out, earLen)) };
  });

  // legs: shoulders at t = 0.22, hips at t = 0.85; outward, front ones forward, hind ones back
  const legs = [
    { t: 0.22, side: 1, front: true },
    { t: 0.22, side: -1, front: true },
    { t: 0.85, side: 1, front: false },
    { t: 0.85, side: -1, front: false },
  ].map(({ t, side, front }) => {
    const fwd = scale(tangent(t), -1);
    const lft = leftOf(fwd);
    const root = add(at(t), scale(lft, side * bodyW * 0.55));
    const swing = rng.uniform(-0.5, 0.5) + (front ? 0.55 : -0.55);
    // direction from the root: sideways (lft * side) rotated towards the front or back by `swing`
    const upperDir = unit(add(scale(lft, side * Math.cos(swing)), scale(fwd, Math.sin(swing))));
    const knee = add(root, scale(upperDir, rng.uniform(0.17, 0.23)));
    const bendAngle = side * (front ? 1 : -1) * rng.uniform(0.2, 0.9);
    const lowerDir = unit(turn(upperDir, -bendAngle));
    const paw = add(knee, scale(lowerDir, rng.uniform(0.15, 0.2)));
    const w = bodyW * 0.34;
    return {
      points: [root, knee, paw],
      radii: [w, w * 0.8, w * 0.6],
      paw,
      dir: lowerDir,
      pawR: front ? 0.05 : 0.058,
      front,
    };
  });

  // tail: random walk of curvature from the tail base, backwards along the spine
  const tailLen = rng.uniform(0.6, 0.95);
  const segments = 6;
  let dir = tangent(1);
  const tailPoints: V[] = [p2];
  let curl = rng.uniform(-0.35, 0.35);
  for (let i = 0; i < segments; i++) {
    curl += rng.normal(0, 0.12);
    dir = turn(dir, curl);
    tailPoints.push(add(tailPoints[i]!, scale(dir, tailLen / segments)));
  }
  const tailRoot = bodyW * 0.45;
  const tailRadii = tailPoints.map((_, i) => tailRoot * (1 - 0.7 * (i / segments)));
  const tip = tailPoints[segments]!;
  const tuft = { centre: tip, dir, a: rng.uniform(0.07, 0.09), b: rng.uniform(0.04, 0.05) };

  return {
    landmarks: [
      nose,
      eyes[0]!.centre,
      eyes[1]!.centre,
      ears[0]!.tip,
      ears[1]!.tip,
      legs[0]!.paw,
      legs[1]!.paw,
      legs[2]!.paw,
      legs[3]!.paw,
      p2,
      tip,
    ],
    spine,
    spineRadii,
    head: { centre: headCentre, dir: headDir, a: headA, b: headB },
    snout: { centre: snoutCentre, a: snoutA, b: headB * 0.6 },
    ears,
    eyes,
    legs,
    tail: { points: tailPoints, radii: tailRadii },
    tailBaseR: bodyW * 0.32,
    tuft,
  };
}

/**
 * The pose's mirror image across the model's x axis (y -> -y): the same animal seen in a mirror.
 * Placed with the angle negated and ty mirrored, it draws the vertical mirror image of the pose
 * placed as it was (the fixed-rig regime's bottom view); each landmark keeps its name.
 */
export function mirrorPose(pose: CritterPose): CritterPose {
  const m = (v: V): V => [v[0], -v[1]];
  return {
    landmarks: pose.landmarks.map(m),
    spine: pose.spine.map(m),
    spineRadii: pose.spineRadii,
    head: { ...pose.head, centre: m(pose.head.centre), dir: m(pose.head.dir) },
    snout: { ...pose.snout, centre: m(pose.snout.centre) },
    ears: pose.ears.map((ear) => ({ base: ear.base.map(m) as [V, V, V], tip: m(ear.tip) })),
    eyes: pose.eyes.map((eye) => ({ ...eye, centre: m(eye.centre) })),
    legs: pose.legs.map((leg) => ({ ...leg, points: leg.points.map(m), paw: m(leg.paw), dir: m(leg.dir) })),
    tail: { ...pose.tail, points: pose.tail.points.map(m) },
    tailBaseR: pose.tailBaseR,
    tuft: { ...pose.tuft, centre: m(pose.tuft.centre), dir: m(pose.tuft.dir) },
  };
}

/** Similarity from model to image pixels: p_img = s * R(angle) p + (tx, ty). */
export interface Placement {
  scale: number;
  angle: number;
  tx: number;
  ty: number;
}

export function placePoint(pl: Placement, p: V): Point {
  const q = turn(p, pl.angle);
  return [pl.scale * q[0] + pl.tx, pl.scale * q[1] + pl.ty];
}

/** Model-space extent of a pose (landmarks padded by the largest part radius). */
export function poseBounds(pose: CritterPose): { x0: number; y0: number; x1: number; y1: number } {
  const pts = [...pose.landmarks, ...pose.spine, ...pose.tail.points];
  const pad = 0.12;
  return {
    x0: Math.min(...pts.map((p) => p[0])) - pad,
    y0: Math.min(...pts.map((p) => p[1])) - pad,
    x1: Math.max(...pts.map((p) => p[0])) + pad,
    y1: Math.max(...pts.map((p) => p[1])) + pad,
  };
}

/** Part id painted by the shape that carries landmark k (visibility test). */
export function landmarkPart(k: number): number {
  return 20 + k;
}

/** Colours and texture of one critter. */
export interface CritterLook {
  body: Rgb;
  belly: Rgb;
  pattern: 'stripes' | 'spots' | 'mottled';
  patternColour: Rgb;
  patternScale: number;
  paws: Rgb;
  ears: Rgb;
  tuft: Rgb;
  noise: (x: number, y: number) => number;
}

export function sampleCritterLook(rng: Rng): CritterLook {
  const hue = rng.next();
  const body = hsv(hue, rng.uniform(0.35, 0.8), rng.uniform(0.45, 0.85));
  return {
    body,
    belly: hsv(hue + rng.uniform(-0.05, 0.05), rng.uniform(0.1, 0.35), rng.uniform(0.75, 0.95)),
    pattern: rng.pick(['stripes', 'spots', 'mottled'] as const),
    patternColour: hsv(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.5, 0.9), rng.uniform(0.15, 0.4)),
    patternScale: rng.uniform(0.08, 0.14),
    paws: hsv(hue + 0.5 + rng.uniform(-0.1, 0.1), rng.uniform(0.2, 0.5), rng.uniform(0.15, 0.3)),
    ears: hsv(hue + rng.uniform(-0.08, 0.08), rng.uniform(0.5, 0.9), rng.uniform(0.3, 0.5)),
    tuft: hsv(rng.next(), rng.uniform(0.7, 1), rng.uniform(0.85, 1)),
    noise: valueNoise(() => rng.next(), 1),
  };
}

/** Draws the critter; returns its landmarks in image pixels and which ones nothing covers. */
export function drawCritter(r: Raster, pose: CritterPose, look: CritterLook, pl: Placement): Point[] {
  const P = (p: V): Point => placePoint(pl, p);
  const s = pl.scale;
  // Textures live in model coordinates so they bend and turn with the critter.
  const cos = Math.cos(-pl.angle);
  const sin = Math.sin(-pl.angle);
  const k = look.patternScale;
  const skin: Paint = (x, y, out) => {
    // model coordinates of the pixel (inverse placement), inlined: this runs for every pixel
    const dx = (x - pl.tx) / s;
    const dy = (y - pl.ty) / s;
    const mx = dx * cos - dy * sin;
    const my = dx * sin + dy * cos;
    let t: number;
    if (look.pattern === 'stripes') t = Math.sin((my / k) * Math.PI) > 0.35 ? 1 : 0;
    else if (look.pattern === 'spots') t = look.noise(mx / k + 10, my / k + 10) > 0.68 ? 1 : 0;
    else t = 0.6 * look.noise(mx / (k * 0.7), my / (k * 0.7));
    const belly = Math.max(0, 1 - Math.abs(mx) / 0.12) * 0.35;
    for (let c = 0; c < 3; c++) {
      const v = look.body[c]! + t * (look.patternColour[c]! - look.body[c]!);
      out[c] = v + belly * (look.belly[c]! - v);
    }
  };
  const shade = (c: Rgb, f: number): Rgb => [c[0] * f, c[1] * f, c[2] * f];

  // tail, then legs and paws, then body, then head parts, front to back in depth
  const tail = stroke(
    pose.tail.points.map(P),
    pose.tail.radii.map((v) => v * s),
  );
  r.draw(tail[0], tail[1], skin, 1);
  const tuft = ellipse(
    ...P(pose.tuft.centre),
    pose.tuft.a * s,
    pose.tuft.b * s,
    Math.atan2(pose.tuft.dir[1], pose.tuft.dir[0]) + pl.angle,
  );
  r.draw(tuft[0], tuft[1], look.tuft, landmarkPart(10));
  const tuftCore = circle(...P(pose.tuft.centre), pose.tuft.b * s * 0.45);
  r.draw(tuftCore[0], tuftCore[1], shade(look.tuft, 0.45), landmarkPart(10));

  pose.legs.forEach((leg, i) => {
    const limb = stroke(
      leg.points.map(P),
      leg.radii.map((v) => v * s),
    );
    r.draw(limb[0], limb[1], skin, 2);
    const k = 5 + i; // left_front, right_front, left_hind, right_hind
    const toes = leg.front ? [-0.6, 0, 0.6] : [-0.75, -0.25, 0.25, 0.75];
    for (const a of toes) {
      const c = add(leg.paw, scale(turn(leg.dir, a), leg.pawR * 1.05));
      const toe = circle(...P(c), leg.pawR * 0.42 * s);
      r.draw(toe[0], toe[1], shade(look.paws, 1.6), landmarkPart(k));
    }
    const paw = leg.front
      ? circle(...P(leg.paw), leg.pawR * s)
      : ellipse(...P(leg.paw), leg.pawR * 1.25 * s, leg.pawR * s, Math.atan2(leg.dir[1], leg.dir[0]) + pl.angle);
    r.draw(paw[0], paw[1], look.paws, landmarkPart(k));
  });

  const body = stroke(
    pose.spine.map(P),
    pose.spineRadii.map((v) => v * s),
  );
  r.draw(body[0], body[1], skin, 3);
  const base = pose.landmarks[9]!;
  const ring = circle(...P(base), pose.tailBaseR * s);
  r.draw(ring[0], ring[1], shade(look.paws, 0.7), landmarkPart(9));
  const ringCore = circle(...P(base), pose.tailBaseR * s * 0.45);
  r.draw(ringCore[0], ringCore[1], [235, 225, 200], landmarkPart(9));

  pose.ears.forEach((ear, i) => {
    const tri = polygon([P(ear.base[1]), P(ear.tip), P(ear.base[2])]);
    r.draw(tri[0], tri[1], look.ears, landmarkPart(3 + i));
    const inner = polygon([
      P(add(scale(ear.base[1], 0.75), scale(ear.tip, 0.25))),
      P(add(scale(ear.tip, 0.88), scale(ear.base[0], 0.12))),
      P(add(scale(ear.base[2], 0.75), scale(ear.tip, 0.25))),
    ]);
    r.draw(inner[0], inner[1], [240, 160, 175], landmarkPart(3 + i));
  });
  const headAngle = Math.atan2(pose.head.dir[1], pose.head.dir[0]) + pl.angle;
  const head = ellipse(...P(pose.head.centre), pose.head.a * s, pose.head.b * s, headAngle);
  r.draw(head[0], head[1], skin, 4);
  const snout = ellipse(...P(pose.snout.centre), pose.snout.a * s, pose.snout.b * s, headAngle);
  r.draw(snout[0], snout[1], look.belly, 4);
  const nose = circle(...P(pose.landmarks[0]!), Math.max(0.03 * s, 1.2));
  r.draw(nose[0], nose[1], [235, 120, 140], landmarkPart(0));
  const nostril = circle(...P(pose.landmarks[0]!), Math.max(0.012 * s, 0.5));
  r.draw(nostril[0], nostril[1], [90, 30, 40], landmarkPart(0));
  pose.eyes.forEach((eye, i) => {
    const white = circle(...P(eye.centre), eye.r * s);
    r.draw(white[0], white[1], [250, 250, 240], landmarkPart(1 + i));
    const pupil = circle(...P(eye.centre), Math.max(eye.r * 0.55 * s, 0.8));
    r.draw(pupil[0], pupil[1], [10, 10, 15], landmarkPart(1 + i));
  });
  return pose.landmarks.map(P);
}
