// The distance prior: bands from the labels widened by the training scales, and the peaks chosen
// together; checked on hand-made candidates and on logits through the heatmap decoder.
import { describe, expect, it } from 'vitest';
import { choosePeaks, fitDistancePrior, type DistancePrior } from './distancePrior.js';
import { decodeHeatmapLogits } from './heatmapHead.js';

const candidate = (x: number, y: number, logProbability: number) => ({ x, y, logProbability });

describe('fitDistancePrior', () => {
  it('bands each pair labeled together by its labeled distances times the scale range', () => {
    const prior = fitDistancePrior(
      [
        [[0, 0], [10, 0], null],
        [
          [0, 0],
          [0, 20],
          [50, 50],
        ],
        [null, [5, 5], [5, 20]],
      ],
      100,
      [0.5, 2],
    );
    expect(prior.pairs).toHaveLength(3);
    const band = (a: number, b: number) => prior.pairs.find((p) => p.a === a && p.b === b)!;
    expect(band(0, 1).min).toBeCloseTo(0.05, 9);
    expect(band(0, 1).max).toBeCloseTo(0.4, 9);
    expect(band(0, 2).min).toBeCloseTo((Math.SQRT2 * 50 * 0.5) / 100, 9);
    expect(band(0, 2).max).toBeCloseTo((Math.SQRT2 * 50 * 2) / 100, 9);
    // (1, 2): 0.3 and 0.15 apart in the two images that label both
    expect(band(1, 2).min).toBeCloseTo(0.075, 9);
    expect(band(1, 2).max).toBeCloseTo(Math.hypot(50, 30) / 50, 9);
  });

  it('leaves out pairs never labeled together, and never narrows a band below the labels', () => {
    const prior = fitDistancePrior(
      [
        [[0, 0], null, [10, 0]],
        [null, [0, 0], [10, 0]],
      ],
      10,
      [1.2, 1.5],
    );
    expect(prior.pairs.map(({ a, b }) => [a, b])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(prior.pairs[0]!.min).toBe(1);
    expect(prior.pairs[0]!.max).toBe(1.5);
  });
});

describe('choosePeaks', () => {
  const prior: DistancePrior = { pairs: [{ a: 0, b: 1, min: 0.02, max: 0.1 }] };

  it('keeps each landmark’s best peak when they fit the bands', () => {
    const candidates = [
      [candidate(50, 50, -0.2), candidate(200, 50, -3)],
      [candidate(60, 60, -0.5), candidate(210, 60, -0.6)],
    ];
    expect(choosePeaks(candidates, prior, 256)).toEqual([0, 0]);
  });

  it('takes a second peak that fits where the best one is far outside its band', () => {
    const candidates = [[candidate(50, 50, -0.1)], [candidate(220, 200, -1), candidate(62, 55, -1.5)]];
    expect(choosePeaks(candidates, prior, 256)).toEqual([0, 1]);
    expect(choosePeaks(candidates, { pairs: [] }, 256)).toEqual([0, 0]);
  });

  it('moves the landmark that loses least, whichever comes first', () => {
    // Landmark 0 is sure (its second peak is 9 nats down), landmark 1 is not (0.2 nats): fitting
    // the band costs 1 moving landmark 1, 8.9 moving landmark 0. Visiting landmarks in index order
    // would move landmark 0.
    const sure = [candidate(50, 50, -0.1), candidate(200, 50, -9)];
    const unsure = [candidate(210, 60, -3), candidate(60, 60, -3.2)];
    expect(choosePeaks([sure, unsure], prior, 256)).toEqual([0, 1]);
    const swapped: DistancePrior = { pairs: [{ a: 0, b: 1, min: 0.02, max: 0.1 }] };
    expect(choosePeaks([unsure, sure], swapped, 256)).toEqual([1, 0]);
  });
});

describe('decodeHeatmapLogits with a distance prior', () => {
  // One image, 2 landmarks on a 32 x 32 map at stride 4 (a 128 px input). Landmark 0: one peak at
  // cell (row 5, column 5). Landmark 1: its largest logit at (28, 28), a slightly lower one at (6, 8).
  const h = 32;
  const w = 32;
  const logits = new Float32Array(h * w * 2);
  const bump = (j: number, row: number, col: number, height: number) => {
    for (let i = 0; i < h; i++)
      for (let c = 0; c < w; c++) {
        const o = (i * w + c) * 2 + j;
        logits[o] = Math.max(logits[o]!, height - ((i - row) ** 2 + (c - col) ** 2) / 2);
      }
  };
  bump(0, 5, 5, 10);
  bump(1, 28, 28, 9);
  bump(1, 6, 8, 8.5);
  const prior: DistancePrior = { pairs: [{ a: 0, b: 1, min: 0, max: 0.15 }] };

  it('decodes the peaks the prior believes together, with their own confidence', () => {
    const plain = decodeHeatmapLogits(logits, [1, h, w, 2], 4);
    expect(Array.from(plain.coords)).toEqual([22, 22, 114, 114]);
    const joint = decodeHeatmapLogits(logits, [1, h, w, 2], 4, prior);
    expect(Array.from(joint.coords)).toEqual([22, 22, 34, 26]);
    expect(joint.confidence[0]).toBe(plain.confidence[0]);
    // the believed peak holds less mass than the larger one
    expect(joint.confidence[1]!).toBeLessThan(plain.confidence[1]!);
    expect(Array.from(joint.heatmaps.values)).toEqual(Array.from(plain.heatmaps.values));
  });
});
