import { describe, expect, it } from 'vitest';
import type { Point } from './geometry.js';
import {
  evaluateLandmarks,
  fitMeanShape,
  lowConfidenceShareOfLargeErrors,
  normalisationDistance,
  pointErrors,
  predictMeanShape,
  type EvalSample,
} from './metrics.js';

// Two images, three keypoints; every number below is worked out by hand in the comments.
const samples: EvalSample[] = [
  {
    // errors 5 (3-4-5 triangle), 0, 2; keypoint 2 is occluded (counts for errors, not for PCK)
    predicted: [
      [3, 4],
      [10, 0],
      [5, 7],
    ],
    truth: [
      { x: 0, y: 0, visibility: 'visible' },
      { x: 10, y: 0, visibility: 'visible' },
      { x: 5, y: 5, visibility: 'occluded' },
    ],
    referenceSize: 100,
  },
  {
    // errors 6, -, 0; keypoint 1 is absent (counts nowhere)
    predicted: [
      [0, 6],
      [1, 1],
      [0, 8],
    ],
    truth: [
      { x: 0, y: 0, visibility: 'visible' },
      { x: 50, y: 50, visibility: 'absent' },
      { x: 0, y: 8, visibility: 'visible' },
    ],
    referenceSize: 100,
  },
];

describe('evaluateLandmarks', () => {
  it('computes pixel error, NME by the normalisation pair, and PCK by hand', () => {
    const m = evaluateLandmarks(samples, { normPair: [0, 1], pckAlpha: 0.05 });
    expect(m.images).toBe(2);
    expect(m.points).toBe(5);
    expect(m.pixelError).toBeCloseTo(13 / 5, 12); // (5 + 0 + 2 + 6 + 0) / 5
    expect(m.pixelErrorPerKeypoint).toEqual([5.5, 0, 1]);
    // image 2 lacks keypoint 1, so only image 1 (pair distance 10) is normalised
    expect(m.nmeSkippedImages).toBe(1);
    expect(m.nme).toBeCloseTo((50 + 0 + 20) / 3, 10);
    expect(m.nmePerKeypoint[0]).toBeCloseTo(50, 10);
    expect(m.nmePerKeypoint[2]).toBeCloseTo(20, 10);
    // threshold 0.05 x 100 = 5: image 1 k0 (5, on the threshold) hit, k1 hit; image 2 k0 (6) miss, k2 hit
    expect(m.pck).toBeCloseTo(3 / 4, 12);
    expect(m.pckPerKeypoint).toEqual([0.5, 1, 1]);
    expect(m.normalisation).toBe('pair');
  });

  it('falls back to the ground-truth box diagonal without a pair', () => {
    const m = evaluateLandmarks(samples, { normPair: null });
    // image 1 box 10 x 5 (diagonal sqrt 125), image 2 box 0 x 8 (diagonal 8)
    const d1 = Math.sqrt(125);
    const expected = ((100 * 5) / d1 + 0 + (100 * 2) / d1 + (100 * 6) / 8 + 0) / 5;
    expect(m.nme).toBeCloseTo(expected, 10);
    expect(m.nmeSkippedImages).toBe(0);
    expect(m.normalisation).toBe('bbox');
    expect(m.pckAlpha).toBe(0.05);
  });

  it('reports nulls, not NaN, when nothing is labeled', () => {
    const m = evaluateLandmarks([{ predicted: [[1, 1]], truth: [null], referenceSize: 10 }], { normPair: null });
    expect(m.pixelError).toBeNull();
    expect(m.nme).toBeNull();
    expect(m.pck).toBeNull();
    expect(m.nmeSkippedImages).toBe(0);
  });

  it('rejects mismatched inputs with clear messages', () => {
    expect(() => pointErrors([[0, 0]], [])).toThrow(/1 predicted points for 0/);
    expect(() =>
      evaluateLandmarks([samples[0]!, { ...samples[1]!, truth: [null], predicted: [[0, 0]] }], { normPair: null }),
    ).toThrow(/Sample 1 has 1 keypoints, expected 3/);
    expect(() => normalisationDistance(samples[0]!.truth, [0, 7])).toThrow(/out of range/);
    expect(() =>
      evaluateLandmarks(
        [
          {
            ...samples[0]!,
            predicted: [
              [NaN, 0],
              [0, 0],
              [0, 0],
            ],
          },
        ],
        { normPair: null },
      ),
    ).toThrow(/not a finite point/);
  });
});

describe('mean-shape baseline', () => {
  it('averages frame-relative positions and predicts them in a new frame', () => {
    const shape = fitMeanShape([
      { points: [[10, 10], [50, 25], null, null], frame: { x: 0, y: 0, w: 100, h: 50 } },
      // a crop: relative positions (0.2, 0.2), (0.5, 0.5), (0.25, 0.5)
      { points: [[120, 20], [150, 50], [125, 50], null], frame: { x: 100, y: 0, w: 100, h: 100 } },
    ]);
    expect(shape[0]![0]).toBeCloseTo(0.15, 12); // (0.1 + 0.2) / 2
    expect(shape[0]![1]).toBeCloseTo(0.2, 12);
    expect(shape[1]).toEqual([0.5, 0.5]);
    expect(shape[2]).toEqual([0.25, 0.5]);
    expect(shape[3]).toBeNull();
    const predicted = predictMeanShape(shape, { x: 10, y: 10, w: 20, h: 40 });
    const expected: Point[] = [
      [13, 18],
      [20, 30],
      [15, 30],
      [20, 30], // never seen: the frame's centre
    ];
    predicted.forEach((p, k) => {
      expect(p[0]).toBeCloseTo(expected[k]![0], 10);
      expect(p[1]).toBeCloseTo(expected[k]![1], 10);
    });
  });

  it('rejects empty frames', () => {
    expect(() => fitMeanShape([{ points: [[1, 1]], frame: { x: 0, y: 0, w: 0, h: 5 } }])).toThrow(/positive size/);
  });
});

describe('lowConfidenceShareOfLargeErrors', () => {
  it('is 1 when confidence ranks the errors, 0 when it ranks them backwards, and counts the overlap', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ error: i, confidence: 1 - i / 10 }));
    expect(lowConfidenceShareOfLargeErrors(points, 0.2)).toBe(1);
    expect(
      lowConfidenceShareOfLargeErrors(
        points.map((p) => ({ ...p, confidence: 1 - p.confidence })),
        0.2,
      ),
    ).toBe(0);
    // The two largest errors (9, 8); the two least confident points: errors 9 and 0.
    const mixed = points.map((p) => ({ ...p, confidence: p.error === 0 ? 0 : p.confidence }));
    expect(lowConfidenceShareOfLargeErrors(mixed, 0.2)).toBe(0.5);
  });
});
