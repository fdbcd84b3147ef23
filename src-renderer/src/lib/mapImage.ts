// A stored overlay map (a head's heatmap, a match's similarities: values on a coarse grid) as
// pixels to lay over the image: low values transparent, high ones opaque and warm, so the image
// stays readable where the map says nothing.

/** RGBA of a value scaled to [0, 1]: dark blue through magenta to yellow, alpha rising with it. */
export function mapColor(t: number): [number, number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const r = Math.round(255 * Math.min(1, 0.2 + 1.6 * v));
  const g = Math.round(255 * Math.max(0, 2 * v - 1));
  const b = Math.round(255 * Math.max(0, 0.6 - v));
  return [r, g, b, Math.round(230 * Math.sqrt(v))];
}

/** The grid's RGBA bytes, row-major, scaled between `min` and `max`. */
export function mapPixels(values: readonly number[], min: number, max: number): Uint8ClampedArray<ArrayBuffer> {
  const span = max - min || 1;
  const out = new Uint8ClampedArray(new ArrayBuffer(values.length * 4));
  values.forEach((value, i) => out.set(mapColor((value - min) / span), 4 * i));
  return out;
}

/** A canvas holding the map at grid resolution (the canvas layer scales it over its rectangle). */
export function mapCanvas(values: readonly number[], width: number, height: number, min: number, max: number) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const pixels = mapPixels(values, min, max);
  canvas.getContext('2d')!.putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas;
}
