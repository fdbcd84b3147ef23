// Dense descriptor maps (paper 001 Sec. 3.2, Sec. 4.2): for every cell of a grid over the network
// input, the hypercolumn of a backbone (chosen stages resized to the grid and concatenated), or its
// projection w^T x by a trained `projection` run, L2-normalised so that a dot product is the cosine
// similarity nearest-neighbour matching ranks by. Images go through the network in batches; maps
// come back as host arrays (no tensor outlives a call).
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import type { Point } from '../../../src-shared/geometry.js';
import type { Backbone } from '../backbones/index.js';
import { tf } from '../engine.js';
import { resizeBilinear } from '../hypercolumn.js';
import { normalizeImageNet, pixelsToTensor } from '../image/normalize.js';

/** A network that turns images into descriptor maps. */
export interface DescriptorNetwork {
  readonly backbone: Backbone;
  /** Hypercolumn stages, in order. */
  readonly stages: readonly string[];
  /** Side of the square (letterboxed) network input, pixels. */
  readonly inputSize: number;
  /**
   * Input pixels per grid cell: 2 when left out (paper 001: 96 -> 48); a trained heatmap run uses
   * its heatmaps' stride, 4, where its finest tap already lies (bench/README, Matching).
   */
  readonly gridStride?: number;
  /** [C, d] projection of a `projection` run, or null for the raw hypercolumn. */
  readonly projection: Tensor2D | null;
}

/** A descriptor map: unit vectors on a width x height grid over the network input. */
export interface DescriptorMap {
  width: number;
  height: number;
  dim: number;
  /** Row-major [height, width, dim]. */
  data: Float32Array;
}

export function gridSizeOf(net: Pick<DescriptorNetwork, 'inputSize' | 'gridStride'>): [number, number] {
  const side = Math.round(net.inputSize / (net.gridStride ?? 2));
  return [side, side];
}

/** Unit descriptors [B, gh, gw, d] of a batch of RGB images in [0, 1] at the network's input size. */
export function descriptorTensor(net: DescriptorNetwork, images: Tensor4D): Tensor4D {
  const [, h, w, c] = images.shape;
  if (c !== 3 || h !== net.inputSize || w !== net.inputSize)
    throw new Error(`descriptors need [B, ${net.inputSize}, ${net.inputSize}, 3] images; got [${images.shape}]`);
  return tf.tidy(() =>
    descriptorsFromTaps(net, net.backbone.apply(normalizeImageNet(images), { training: false, stages: net.stages })),
  );
}

/**
 * Unit descriptors [B, gh, gw, d] from the backbone's stage outputs for ImageNet-normalised inputs
 * at the network's input size (not disposed): what a head that ran the same backbone on the same
 * inputs has already computed.
 */
export function descriptorsFromTaps(net: DescriptorNetwork, taps: Readonly<Record<string, Tensor4D>>): Tensor4D {
  const grid = gridSizeOf(net);
  return tf.tidy(() => {
    const parts = net.stages.map((name) => {
      const tap = taps[name];
      if (!tap)
        throw new Error(`descriptors need the backbone's stage ${name}; the taps have ${Object.keys(taps).join(', ')}`);
      return resizeBilinear(tap, grid);
    });
    let columns = parts.length === 1 ? parts[0]! : (tf.concat(parts, 3) as Tensor4D);
    if (net.projection) {
      const [b, gh, gw, channels] = columns.shape;
      columns = tf.reshape(tf.matMul(tf.reshape(columns, [b * gh * gw, channels]) as Tensor2D, net.projection), [
        b,
        gh,
        gw,
        net.projection.shape[1],
      ]) as Tensor4D;
    }
    return tf.div(columns, tf.sqrt(tf.maximum(tf.sum(tf.square(columns), 3, true), 1e-12))) as Tensor4D;
  });
}

/**
 * Network inputs of any square size -> the descriptor network's input size. Going through twice the
 * target size and a 2x2 average keeps a downscale by up to 2x close to an area filter (a plain
 * bilinear resize from 256 to 96 px would skip pixels).
 */
export function toDescriptorInput(net: Pick<DescriptorNetwork, 'inputSize'>, images: Tensor4D): Tensor4D {
  const n = net.inputSize;
  const side = images.shape[1];
  if (images.shape[2] !== side) throw new Error(`network inputs are square; got [${images.shape}]`);
  if (side === n) return images;
  return tf.tidy(() =>
    side > n
      ? (tf.avgPool(tf.image.resizeBilinear(images, [2 * n, 2 * n], false, true), 2, 2, 'valid') as Tensor4D)
      : tf.image.resizeBilinear(images, [n, n], false, true),
  );
}

/** Descriptor maps of network inputs [B, S, S, 3] in [0, 1] (any S; not disposed), as host arrays. */
export function describeInputs(net: DescriptorNetwork, images: Tensor4D): DescriptorMap[] {
  const out = tf.tidy(() => descriptorTensor(net, toDescriptorInput(net, images)));
  try {
    return hostMaps(out);
  } finally {
    out.dispose();
  }
}

/** Descriptor maps [B, gh, gw, d] (not disposed) as host arrays, one per image. */
export function hostMaps(described: Tensor4D): DescriptorMap[] {
  const [b, height, width, dim] = described.shape;
  const values = described.dataSync() as Float32Array;
  const size = height * width * dim;
  return Array.from({ length: b }, (_, i) => ({ width, height, dim, data: values.slice(i * size, (i + 1) * size) }));
}

/** Descriptor maps of images ([size, size, 3] 8-bit HWC each), `batchSize` at a time. */
export async function describePixels(
  net: DescriptorNetwork,
  images: readonly Uint8Array[],
  batchSize = 8,
): Promise<DescriptorMap[]> {
  const maps: DescriptorMap[] = [];
  const per = net.inputSize * net.inputSize * 3;
  for (let start = 0; start < images.length; start += batchSize) {
    const chunk = images.slice(start, start + batchSize);
    chunk.forEach((img, i) => {
      if (img.length !== per) throw new Error(`image ${start + i} has ${img.length} bytes, expected ${per}`);
    });
    const inputs = pixelsToTensor(chunk, net.inputSize, net.inputSize);
    try {
      maps.push(...describeInputs(net, inputs));
    } finally {
      inputs.dispose();
    }
  }
  return maps;
}

/** Network input pixels -> continuous grid coordinates (cell j's centre at j). */
export function inputToGrid(map: Pick<DescriptorMap, 'width' | 'height'>, inputSize: number, p: Point): Point {
  return [(p[0] * map.width) / inputSize - 0.5, (p[1] * map.height) / inputSize - 0.5];
}

export function gridToInput(map: Pick<DescriptorMap, 'width' | 'height'>, inputSize: number, p: Point): Point {
  return [((p[0] + 0.5) * inputSize) / map.width, ((p[1] + 0.5) * inputSize) / map.height];
}

/** The unit descriptor at continuous grid coordinates (bilinear between cells, clamped to the grid). */
export function descriptorAt(map: DescriptorMap, p: Point): Float32Array {
  const { width, height, dim, data } = map;
  const fx = Math.min(Math.max(p[0], 0), width - 1);
  const fy = Math.min(Math.max(p[1], 0), height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const out = new Float32Array(dim);
  const corners: [number, number, number][] = [
    [x0, y0, (1 - ax) * (1 - ay)],
    [x1, y0, ax * (1 - ay)],
    [x0, y1, (1 - ax) * ay],
    [x1, y1, ax * ay],
  ];
  for (const [x, y, weight] of corners) {
    if (weight === 0) continue;
    const base = (y * width + x) * dim;
    for (let k = 0; k < dim; k++) out[k]! += weight * data[base + k]!;
  }
  let norm = 0;
  for (let k = 0; k < dim; k++) norm += out[k]! * out[k]!;
  norm = Math.sqrt(Math.max(norm, 1e-24));
  for (let k = 0; k < dim; k++) out[k]! /= norm;
  return out;
}

/** The map's mean descriptor, unit length: the global image descriptor label propagation ranks by. */
export function pooledDescriptor(map: DescriptorMap): Float32Array {
  const out = new Float32Array(map.dim);
  const cells = map.width * map.height;
  for (let c = 0; c < cells; c++) for (let k = 0; k < map.dim; k++) out[k]! += map.data[c * map.dim + k]!;
  let norm = 0;
  for (let k = 0; k < map.dim; k++) norm += out[k]! * out[k]!;
  norm = Math.sqrt(Math.max(norm, 1e-24));
  for (let k = 0; k < map.dim; k++) out[k]! /= norm;
  return out;
}
