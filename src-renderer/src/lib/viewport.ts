// Image-to-screen mapping of the labeling canvas: screen = image * scale + offset.
// Pure functions so zoom and pan keep a point fixed under the cursor exactly.

export interface Point {
  x: number;
  y: number;
}

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Viewport {
  scale: number;
  x: number;
  y: number;
}

/** Largest zoom: 40 screen pixels per image pixel is enough for sub-pixel placement. */
export const MAX_SCALE = 40;

export function toScreen(view: Viewport, p: Point): Point {
  return { x: p.x * view.scale + view.x, y: p.y * view.scale + view.y };
}

export function toImage(view: Viewport, p: Point): Point {
  return { x: (p.x - view.x) / view.scale, y: (p.y - view.y) / view.scale };
}

/** The view that shows the whole region centred, with `margin` screen pixels around it. */
export function fitRegion(region: Region, width: number, height: number, margin = 16): Viewport {
  const availW = Math.max(1, width - 2 * margin);
  const availH = Math.max(1, height - 2 * margin);
  const scale = Math.min(availW / Math.max(1, region.w), availH / Math.max(1, region.h));
  return {
    scale,
    x: (width - region.w * scale) / 2 - region.x * scale,
    y: (height - region.h * scale) / 2 - region.y * scale,
  };
}

/**
 * Zooms by `factor` keeping the image point under `anchor` (screen) where it is. The scale stays
 * between a quarter of the fitted scale (so the image cannot vanish) and MAX_SCALE.
 */
export function zoomAt(view: Viewport, factor: number, anchor: Point, fitScale: number): Viewport {
  const scale = Math.min(Math.max(view.scale * factor, fitScale / 4), Math.max(MAX_SCALE, fitScale));
  const under = toImage(view, anchor);
  return { scale, x: anchor.x - under.x * scale, y: anchor.y - under.y * scale };
}

export function panBy(view: Viewport, dx: number, dy: number): Viewport {
  return { scale: view.scale, x: view.x + dx, y: view.y + dy };
}

export function contains(region: Region, p: Point): boolean {
  return p.x >= region.x && p.y >= region.y && p.x <= region.x + region.w && p.y <= region.y + region.h;
}

export function clampTo(region: Region, p: Point): Point {
  return {
    x: Math.min(Math.max(p.x, region.x), region.x + region.w),
    y: Math.min(Math.max(p.y, region.y), region.y + region.h),
  };
}
