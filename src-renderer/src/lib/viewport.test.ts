import { describe, expect, it } from 'vitest';
import { clampTo, contains, fitRegion, MAX_SCALE, panBy, toImage, toScreen, zoomAt } from './viewport.js';

describe('viewport', () => {
  it('fits a region centred inside the margins, limited by the tighter side', () => {
    const view = fitRegion({ x: 0, y: 0, w: 4000, h: 3000 }, 1000, 1000, 20);
    expect(view.scale).toBeCloseTo(960 / 4000);
    const topLeft = toScreen(view, { x: 0, y: 0 });
    const bottomRight = toScreen(view, { x: 4000, y: 3000 });
    expect(topLeft.x).toBeCloseTo(20);
    expect(bottomRight.x).toBeCloseTo(980);
    expect((topLeft.y + bottomRight.y) / 2).toBeCloseTo(500);
  });

  it('fits a crop region so its corner, not the file corner, is framed', () => {
    const view = fitRegion({ x: 1000, y: 500, w: 200, h: 100 }, 420, 220, 10);
    expect(toScreen(view, { x: 1000, y: 500 })).toEqual({ x: 10, y: 10 });
    expect(toScreen(view, { x: 1200, y: 600 })).toEqual({ x: 410, y: 210 });
  });

  it('maps screen to image and back', () => {
    const view = { scale: 2.5, x: -30, y: 12 };
    const p = { x: 123.25, y: 77.5 };
    const back = toImage(view, toScreen(view, p));
    expect(back.x).toBeCloseTo(p.x, 10);
    expect(back.y).toBeCloseTo(p.y, 10);
  });

  it('zooms keeping the image point under the cursor in place', () => {
    const view = { scale: 0.5, x: 10, y: 20 };
    const anchor = { x: 300, y: 200 };
    const before = toImage(view, anchor);
    const zoomed = zoomAt(view, 3, anchor, 0.5);
    expect(zoomed.scale).toBeCloseTo(1.5);
    const after = toImage(zoomed, anchor);
    expect(after.x).toBeCloseTo(before.x, 10);
    expect(after.y).toBeCloseTo(before.y, 10);
  });

  it('limits zoom between a quarter of the fitted scale and MAX_SCALE', () => {
    const view = { scale: 1, x: 0, y: 0 };
    expect(zoomAt(view, 1e6, { x: 0, y: 0 }, 1).scale).toBe(MAX_SCALE);
    expect(zoomAt(view, 1e-6, { x: 0, y: 0 }, 1).scale).toBe(0.25);
  });

  it('pans by screen pixels and clamps points into a region', () => {
    expect(panBy({ scale: 2, x: 1, y: 1 }, 5, -3)).toEqual({ scale: 2, x: 6, y: -2 });
    const region = { x: 10, y: 10, w: 100, h: 50 };
    expect(clampTo(region, { x: 0, y: 200 })).toEqual({ x: 10, y: 60 });
    expect(contains(region, { x: 110, y: 60 })).toBe(true);
    expect(contains(region, { x: 110.5, y: 60 })).toBe(false);
  });
});
