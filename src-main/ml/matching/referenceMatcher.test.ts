import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs';
import { createBackbone, type Backbone, type Taps } from '../backbones/index.js';
import { initEngine, tf } from '../engine.js';
import { normalizeImageNet, pixelsToTensor } from '../image/normalize.js';
import {
  descriptorAt,
  describeInputs,
  describePixels,
  toDescriptorInput,
  type DescriptorNetwork,
} from './descriptors.js';
import { findPeaks, similarityMap } from './match.js';
import { nearestReferences } from './propagate.js';
import { ReferenceMatcher, type ImageSimilarities } from './referenceMatcher.js';

/** Describes the inputs (or their taps) and matches them, as a prediction's batch is. */
function similarities(matcher: ReferenceMatcher, images: Tensor4D, taps: Taps | null = null): ImageSimilarities[] {
  const described = matcher.describe(images, taps);
  try {
    return matcher.match(described);
  } finally {
    described.dispose();
  }
}

/** A smooth random texture (sums of sinusoids), shifted by (dx, dy) pixels: HWC 8-bit. */
function texture(size: number, seed: number, [dx, dy]: [number, number] = [0, 0]): Uint8Array {
  const waves = Array.from({ length: 12 }, (_, i) => {
    const a = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    const r = a - Math.floor(a);
    return { fx: 0.02 + 0.1 * r, fy: 0.02 + 0.1 * ((r * 7.3) % 1), phase: r * 6.28, channel: i % 3 };
  });
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (const w of waves) {
        const at = (y * size + x) * 3 + w.channel;
        out[at] = Math.min(255, out[at]! + 40 * (1 + Math.sin(w.fx * (x - dx) + w.fy * (y - dy) + w.phase)));
      }
  return out;
}

describe('reference matcher (matching maps made during prediction)', () => {
  let backbone: Backbone;
  let net: DescriptorNetwork;
  beforeAll(async () => {
    await initEngine();
    backbone = createBackbone({ arch: 'resnet18' }, { seed: 3 });
    net = { backbone, stages: ['conv2_x', 'conv3_x'], inputSize: 64, projection: null };
  });
  afterAll(() => backbone.dispose());

  it("gives, batched on the device, the maps of the host path from each image's nearest reference", () => {
    const refs = describeInputsOf([texture(64, 1), texture(64, 2)]);
    const points = [
      [[10, 12], null, [30, 5]],
      [
        [4, 4],
        [20, 25],
        [31, 31],
      ],
    ] as const;
    const matcher = new ReferenceMatcher(
      net,
      refs.map((map, r) => ({ map, points: points[r]!.map((p) => (p ? [p[0], p[1]] : null)) })),
    );
    const inputs = pixelsToTensor([texture(64, 2, [3, 1]), texture(64, 1, [-2, 2]), texture(64, 9)], 64, 64);
    try {
      similarities(matcher, inputs); // warm-up: kernels' first use may keep tensors
      const before = tf.memory().numTensors;
      const found = similarities(matcher, inputs);
      expect(tf.memory().numTensors).toBe(before);
      const targets = describeInputs(net, inputs);
      found.forEach((f, i) => {
        const reference = nearestReferences(targets[i]!, refs, 1)[0]!;
        expect(f.reference).toBe(reference);
        expect([f.width, f.height]).toEqual([32, 32]);
        points[reference]!.forEach((p, j) => {
          if (!p) return expect(f.maps[j]).toBeNull();
          const host = similarityMap(targets[i]!, descriptorAt(refs[reference]!, [p[0], p[1]]));
          const gap = Math.max(...host.map((v, c) => Math.abs(v - f.maps[j]![c]!)));
          expect(gap).toBeLessThan(1e-4);
        });
      });
      // The shifted copies pick their own source, and a point lands where the shift moved it
      // (2 input pixels per grid cell: a shift of (3, 1) px is (1.5, 0.5) cells).
      expect(found[0]!.reference).toBe(1);
      expect(found[1]!.reference).toBe(0);
      const moved = findPeaks(found[0]!.maps[1]!, 32, 32).point;
      expect(Math.hypot(moved[0] - 21.5, moved[1] - 25.5)).toBeLessThan(1);
    } finally {
      inputs.dispose();
      matcher.dispose();
    }
  });

  it("makes the same maps from a head's backbone taps as from a pass of its own, at the grid stride asked", () => {
    // A heatmap run's features: grid stride 4, where conv2_x already lies (64 px -> 16 x 16).
    const strided: DescriptorNetwork = { ...net, gridStride: 4 };
    const refs = describeInputsOf([texture(64, 1)], strided);
    expect([refs[0]!.width, refs[0]!.height]).toEqual([16, 16]);
    const matcher = new ReferenceMatcher(strided, [
      {
        map: refs[0]!,
        points: [
          [5, 6],
          [12, 3],
        ],
      },
    ]);
    const inputs = pixelsToTensor([texture(64, 1, [4, 0]), texture(64, 7)], 64, 64);
    // The taps of the two images in the other order: maps made from them come out swapped, which
    // tells that the taps were described and the inputs not run through the backbone again.
    const taps = tf.tidy(() =>
      backbone.apply(normalizeImageNet(tf.reverse(inputs, 0)), { training: false, stages: ['conv3_x', 'conv2_x'] }),
    );
    try {
      const ownPass = similarities(matcher, inputs);
      const before = tf.memory().numTensors;
      const fromTaps = similarities(matcher, inputs, taps);
      expect(tf.memory().numTensors).toBe(before);
      fromTaps.forEach((f, i) => {
        expect([f.width, f.height]).toEqual([16, 16]);
        f.maps.forEach((map, j) => {
          const gap = Math.max(...map!.map((v, c) => Math.abs(v - ownPass[1 - i]!.maps[j]![c]!)));
          expect(gap).toBeLessThan(1e-5);
        });
      });
    } finally {
      inputs.dispose();
      Object.values(taps).forEach((t) => t.dispose());
      matcher.dispose();
    }
  });

  it('describes a larger network input close to the same image letterboxed at the descriptor size', async () => {
    // The 128 px input downscaled on the device against the 64 px image made from it on the host
    // (2x2 means): the descriptors agree cell by cell, mean cosine within 5e-5 of 1.
    const big = texture(128, 4);
    const small = new Uint8Array(64 * 64 * 3);
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++)
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (const [ox, oy] of [
            [0, 0],
            [1, 0],
            [0, 1],
            [1, 1],
          ] as const)
            sum += big[((2 * y + oy) * 128 + 2 * x + ox) * 3 + c]!;
          small[(y * 64 + x) * 3 + c] = Math.round(sum / 4);
        }
    const input = pixelsToTensor([big], 128, 128);
    try {
      const before = tf.memory().numTensors;
      const resized = toDescriptorInput(net, input);
      expect(resized.shape).toEqual([1, 64, 64, 3]);
      resized.dispose();
      const [fromBig] = describeInputs(net, input);
      expect(tf.memory().numTensors).toBe(before);
      const [direct] = await describePixels(net, [small]);
      const cells = direct!.width * direct!.height;
      let cosine = 0;
      for (let c = 0; c < cells; c++)
        for (let d = 0; d < direct!.dim; d++)
          cosine += fromBig!.data[c * direct!.dim + d]! * direct!.data[c * direct!.dim + d]!;
      // (a plain bilinear resize, which samples every other pixel, is 0.99964 here)
      expect(1 - cosine / cells).toBeLessThan(5e-5);
    } finally {
      input.dispose();
    }
  });

  it('refuses references that disagree, and having none', () => {
    const [a, b] = describeInputsOf([texture(64, 1), texture(64, 2)]);
    expect(() => new ReferenceMatcher(net, [])).toThrow(/at least one labeled reference/);
    expect(
      () =>
        new ReferenceMatcher(net, [
          { map: a!, points: [[1, 1]] },
          { map: b!, points: [null, null] },
        ]),
    ).toThrow(/reference 1 has .* 2 points, not .* 1/);
  });

  function describeInputsOf(images: Uint8Array[], network = net) {
    const inputs = pixelsToTensor(images, 64, 64);
    try {
      return describeInputs(network, inputs);
    } finally {
      inputs.dispose();
    }
  }
});
