// A tiny anti-aliased rasteriser in pure TypeScript for the procedural demo images: shapes are
// signed distance functions (negative inside, in pixels), coverage of a pixel is
// clamp(0.5 - distance, 0, 1) at its centre (x + 0.5, y + 0.5), i.e. the project's continuous
// coordinates. Each pixel also remembers which part covered it last, so the generator can tell
// whether a landmark is hidden (occluded) by something drawn over it.

export type Rgb = readonly [number, number, number];

/** Signed distance from (x, y) to a shape's outline: < 0 inside. */
export type Sdf = (x: number, y: number) => number;

/** Colour of a shape: solid, or written into `out` per point (no allocation per pixel). */
export type Paint = Rgb | ((x: number, y: number, out: number[]) => void);

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export class Raster {
  /** RGB, 0-255 floats, interleaved. */
  readonly rgb: Float32Array;
  /** Part id drawn last at each pixel (coverage >= 0.5); 0 = background. */
  readonly part: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Float32Array(width * height * 3);
    this.part = new Uint8Array(width * height);
  }

  /**
   * Paints every pixel with a SMOOTH colour field (gradients, large-scale noise): `paint` is
   * evaluated every `step` pixels and interpolated bilinearly in between, which is much cheaper
   * than a call per pixel and looks the same for fields that vary slowly.
   */
  fillSmooth(paint: (x: number, y: number, out: number[]) => void, step: number): void {
    const gw = Math.ceil(this.width / step) + 1;
    const gh = Math.ceil(this.height / step) + 1;
    const grid = new Float32Array(gw * gh * 3);
    const c = [0, 0, 0];
    for (let j = 0; j < gh; j++)
      for (let i = 0; i < gw; i++) {
        paint(i * step + 0.5, j * step + 0.5, c);
        grid.set(c, (j * gw + i) * 3);
      }
    for (let y = 0; y < this.height; y++) {
      const j = Math.floor(y / step);
      const v = (y - j * step) / step;
      for (let x = 0; x < this.width; x++) {
        const i = Math.floor(x / step);
        const u = (x - i * step) / step;
        const a = (j * gw + i) * 3;
        const b = a + gw * 3;
        const o = (y * this.width + x) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const top = grid[a + ch]! + u * (grid[a + 3 + ch]! - grid[a + ch]!);
          const bottom = grid[b + ch]! + u * (grid[b + 3 + ch]! - grid[b + ch]!);
          this.rgb[o + ch] = top + v * (bottom - top);
        }
      }
    }
  }

  /** Blends a shape over the image inside `box` (its bounds, padded by a pixel here). */
  draw(sdf: Sdf, box: Box, paint: Paint, partId = 0, opacity = 1): void {
    const x0 = Math.max(0, Math.floor(box.x0 - 1));
    const y0 = Math.max(0, Math.floor(box.y0 - 1));
    const x1 = Math.min(this.width - 1, Math.ceil(box.x1 + 1));
    const y1 = Math.min(this.height - 1, Math.ceil(box.y1 + 1));
    const shade = typeof paint === 'function' ? paint : null;
    const c: number[] = typeof paint === 'function' ? [0, 0, 0] : [paint[0], paint[1], paint[2]];
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const d = sdf(px, py);
        if (d >= 0.5) continue;
        const a = opacity * Math.min(1, 0.5 - d);
        if (shade) shade(px, py, c);
        const i = y * this.width + x;
        const o = i * 3;
        this.rgb[o] = this.rgb[o]! + a * (c[0]! - this.rgb[o]!);
        this.rgb[o + 1] = this.rgb[o + 1]! + a * (c[1]! - this.rgb[o + 1]!);
        this.rgb[o + 2] = this.rgb[o + 2]! + a * (c[2]! - this.rgb[o + 2]!);
        if (a >= 0.5) this.part[i] = partId;
      }
  }

  /**
   * Whether part `id` shows at the pixel holding (x, y) or one of its 8 neighbours: a landmark on
   * a shape's tip or rim (an ear tip) covers less than half of its own pixel.
   */
  showsPartNear(x: number, y: number, id: number): boolean {
    const i0 = Math.floor(x);
    const j0 = Math.floor(y);
    for (let j = j0 - 1; j <= j0 + 1; j++)
      for (let i = i0 - 1; i <= i0 + 1; i++)
        if (i >= 0 && j >= 0 && i < this.width && j < this.height && this.part[j * this.width + i] === id) return true;
    return false;
  }

  /**
   * 8-bit RGB plus pixel noise of amplitude `noise`: bell-shaped values read from a seeded table
   * from a random start on every row (sequential reads: cache-friendly, deterministic).
   */
  toBytes(noise: number, random: () => number): Uint8Array {
    const size = 1 << 14;
    const table = new Float32Array(size);
    for (let i = 0; i < size; i++) table[i] = (random() + random() - 1) * noise;
    // a clamped array rounds and clamps on store, natively
    const out = new Uint8ClampedArray(this.rgb.length);
    const rgb = this.rgb;
    const rowLength = this.width * 3;
    for (let y = 0; y < this.height; y++) {
      let j = Math.floor(random() * (size - rowLength));
      for (let i = y * rowLength, end = i + rowLength; i < end; i++) out[i] = rgb[i]! + table[j++]!;
    }
    return new Uint8Array(out.buffer);
  }
}

/** sqrt(x^2 + y^2): Math.hypot is several times slower in V8, and SDFs run per pixel. */
function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

export function circle(cx: number, cy: number, r: number): [Sdf, Box] {
  return [(x, y) => len(x - cx, y - cy) - r, { x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r }];
}

/** Ellipse with semi-axes a (along `angle`) and b; distance is first-order accurate near the edge. */
export function ellipse(cx: number, cy: number, a: number, b: number, angle: number): [Sdf, Box] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const sdf: Sdf = (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    const u = (c * dx + s * dy) / a;
    const v = (-s * dx + c * dy) / b;
    const k = len(u, v);
    if (k < 1e-9) return -Math.min(a, b);
    // |grad k| = sqrt((u/a)^2 + (v/b)^2) / k
    const g = len(u / a, v / b) / k;
    return (k - 1) / g;
  };
  const ex = len(a * c, b * s);
  const ey = len(a * s, b * c);
  return [sdf, { x0: cx - ex, y0: cy - ey, x1: cx + ex, y1: cy + ey }];
}

/** A polyline with a radius at each vertex (tapered limbs, tails, bodies). */
export function stroke(points: readonly (readonly [number, number])[], radii: readonly number[]): [Sdf, Box] {
  const sdf: Sdf = (x, y) => {
    let best = Infinity;
    for (let i = 0; i + 1 < points.length; i++) {
      const [ax, ay] = points[i]!;
      const [bx, by] = points[i + 1]!;
      const vx = bx - ax;
      const vy = by - ay;
      const len2 = vx * vx + vy * vy;
      const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * vx + (y - ay) * vy) / len2)) : 0;
      const d = len(x - ax - t * vx, y - ay - t * vy) - (radii[i]! + t * (radii[i + 1]! - radii[i]!));
      if (d < best) best = d;
    }
    return best;
  };
  const rMax = Math.max(...radii);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [
    sdf,
    { x0: Math.min(...xs) - rMax, y0: Math.min(...ys) - rMax, x1: Math.max(...xs) + rMax, y1: Math.max(...ys) + rMax },
  ];
}

/** A simple polygon (any winding): distance to the nearest edge, negative inside. */
export function polygon(points: readonly (readonly [number, number])[]): [Sdf, Box] {
  const n = points.length;
  const sdf: Sdf = (x, y) => {
    let best2 = Infinity;
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [ax, ay] = points[j]!;
      const [bx, by] = points[i]!;
      const vx = bx - ax;
      const vy = by - ay;
      const len2 = vx * vx + vy * vy;
      const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * vx + (y - ay) * vy) / len2)) : 0;
      const ex = x - ax - t * vx;
      const ey = y - ay - t * vy;
      best2 = Math.min(best2, ex * ex + ey * ey);
      if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
    }
    const best = Math.sqrt(best2);
    return inside ? -best : best;
  };
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [sdf, { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) }];
}

/** Smooth 2-D value noise in [0, 1] with features about `cell` pixels wide (64-cell period). */
export function valueNoise(random: () => number, cell: number): (x: number, y: number) => number {
  const table = Float32Array.from({ length: 64 * 64 }, () => random());
  const inv = 1 / cell;
  return (x, y) => {
    const fx = x * inv;
    const fy = y * inv;
    const fi = Math.floor(fx);
    const fj = Math.floor(fy);
    let u = fx - fi;
    let v = fy - fj;
    u = u * u * (3 - 2 * u);
    v = v * v * (3 - 2 * v);
    const i0 = fi & 63;
    const i1 = (fi + 1) & 63;
    const j0 = (fj & 63) << 6;
    const j1 = ((fj + 1) & 63) << 6;
    const a = table[j0 + i0]!;
    const b = table[j0 + i1]!;
    const c = table[j1 + i0]!;
    const d = table[j1 + i1]!;
    const top = a + u * (b - a);
    return top + v * (c + u * (d - c) - top);
  };
}

/** HSV (h in turns, s and v in [0, 1]) to 0-255 RGB. */
export function hsv(h: number, s: number, v: number): Rgb {
  const f = (n: number): number => {
    const k = (n + ((h % 1) + 1) * 6) % 6;
    return 255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1)));
  };
  return [f(5), f(3), f(1)];
}
