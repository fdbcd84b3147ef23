import { describe, expect, it } from 'vitest';
import { CRITTER_FLIP_PAIRS, CRITTER_KEYPOINTS, CRITTER_NORM_PAIR, CRITTER_SKELETON } from './critter.js';
import { demoSchema, renderDemoSample, type DemoSample } from './generate.js';

const K = CRITTER_KEYPOINTS.length;
const idx = (name: (typeof CRITTER_KEYPOINTS)[number]): number => CRITTER_KEYPOINTS.indexOf(name);
const pixel = (s: DemoSample, k: number): number[] => {
  const [x, y] = s.points[k]!;
  const o = (Math.floor(y) * s.width + Math.floor(x)) * 3;
  return Array.from(s.rgb.subarray(o, o + 3));
};

describe('critter schema', () => {
  it('has consistent names, flip pairs, skeleton and normalisation pair', () => {
    expect(K).toBe(11);
    const paired = CRITTER_FLIP_PAIRS.flat();
    expect(new Set(paired).size).toBe(paired.length);
    for (const [a, b] of CRITTER_FLIP_PAIRS) {
      expect(CRITTER_KEYPOINTS[a]!.replace('left', 'right')).toBe(CRITTER_KEYPOINTS[b]);
    }
    for (const [a, b] of [...CRITTER_SKELETON, CRITTER_NORM_PAIR]) {
      expect(a).toBeLessThan(K);
      expect(b).toBeLessThan(K);
    }
  });
});

describe('renderDemoSample', () => {
  it('is deterministic per (seed, index) and varies between items', () => {
    const a = renderDemoSample(3, 5, { regime: 'crop' });
    const b = renderDemoSample(3, 5, { regime: 'crop' });
    const c = renderDemoSample(3, 6, { regime: 'crop' });
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(a.points).toEqual(b.points);
    expect(Buffer.from(a.rgb).equals(Buffer.from(c.rgb))).toBe(false);
    expect([a.width, a.height, a.rgb.length]).toEqual([112, 112, 112 * 112 * 3]);
  });

  it("crops: the critter fills the image upright, the animal's left on image left", () => {
    for (let i = 0; i < 30; i++) {
      const s = renderDemoSample(1, i, { regime: 'crop', size: 96 });
      expect(s.points).toHaveLength(K);
      const xs = s.points.map((p) => p[0]);
      const ys = s.points.map((p) => p[1]);
      for (const p of s.points) {
        expect(p[0]).toBeGreaterThanOrEqual(0);
        expect(p[0]).toBeLessThan(96);
        expect(p[1]).toBeGreaterThanOrEqual(0);
        expect(p[1]).toBeLessThan(96);
      }
      // fills: the landmarks span most of the image
      expect(Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys))).toBeGreaterThan(0.5 * 96);
      expect(s.points[idx('nose')]![1]).toBeLessThan(s.points[idx('tail_base')]![1]);
      expect(s.points[idx('left_eye')]![0]).toBeLessThan(s.points[idx('right_eye')]![0]);
      expect(s.points[idx('left_ear')]![0]).toBeLessThan(s.points[idx('right_ear')]![0]);
    }
  });

  it('frames: a small critter (a few % of the frame) anywhere, at any orientation', () => {
    const headings = new Set<number>();
    const quadrants = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const s = renderDemoSample(2, i, { regime: 'frame' });
      expect([s.width, s.height]).toEqual([640, 480]);
      const xs = s.points.map((p) => p[0]);
      const ys = s.points.map((p) => p[1]);
      const area = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
      expect(area / (640 * 480)).toBeGreaterThan(0.005);
      expect(area / (640 * 480)).toBeLessThan(0.12);
      const nose = s.points[idx('nose')]!;
      const base = s.points[idx('tail_base')]!;
      headings.add(Math.floor(((Math.atan2(nose[1] - base[1], nose[0] - base[0]) + Math.PI) / (2 * Math.PI)) * 4));
      quadrants.add(`${base[0] < 320}${base[1] < 240}`);
    }
    expect(headings.size).toBe(4);
    expect(quadrants.size).toBe(4);
  });

  it('draws each visible landmark on its own structure (pupil, ring centre, nose)', () => {
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const s = renderDemoSample(4, i, { regime: 'crop', size: 160, occlusionProb: 0 });
      for (const eye of [idx('left_eye'), idx('right_eye')]) {
        if (s.visibility[eye] !== 'visible') continue;
        expect(Math.max(...pixel(s, eye)), `eye of item ${i}`).toBeLessThan(60); // black pupil
        checked++;
      }
      if (s.visibility[idx('tail_base')] === 'visible') {
        expect(Math.min(...pixel(s, idx('tail_base')))).toBeGreaterThan(170); // cream ring centre
        checked++;
      }
      if (s.visibility[idx('nose')] === 'visible') {
        const [r, g, b] = pixel(s, idx('nose'));
        expect(r! - g!, `nose of item ${i}`).toBeGreaterThan(25); // dark pink nostril
        expect(r! - b!).toBeGreaterThan(15);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(36);
  });

  it('marks landmarks under an occluder as occluded', () => {
    let withOcclusion = 0;
    let occludedWithout = 0;
    for (let i = 0; i < 30; i++) {
      const on = renderDemoSample(5, i, { regime: 'crop', occlusionProb: 1 });
      if (on.visibility.includes('occluded')) withOcclusion++;
      const off = renderDemoSample(5, i, { regime: 'crop', occlusionProb: 0 });
      occludedWithout += off.visibility.filter((v) => v === 'occluded').length;
      expect(on.visibility.every((v) => v === 'visible' || v === 'occluded')).toBe(true);
    }
    expect(withOcclusion).toBeGreaterThanOrEqual(24);
    // without occluders only the critter's own parts hide landmarks, rarely
    expect(occludedWithout / (30 * K)).toBeLessThan(0.05);
  });

  it('rig: the critter heading right along the top half, its mirror image in the bottom half', () => {
    const schema = demoSchema('rig');
    expect(schema.names).toHaveLength(2 * K);
    expect(schema.names.slice(0, 2)).toEqual(['nose_top', 'left_eye_top']);
    expect(schema.names[K + 1]).toBe('left_eye_bot');
    for (const [a, b] of schema.flipPairs) expect(schema.names[a]!.replace('left', 'right')).toBe(schema.names[b]);
    expect(schema.normPair).toEqual([...CRITTER_NORM_PAIR]);
    const along: number[] = [];
    for (let i = 0; i < 16; i++) {
      const s = renderDemoSample(6, i, { regime: 'rig', frameWidth: 160, frameHeight: 120 });
      expect([s.width, s.height, s.points.length, s.visibility.length]).toEqual([160, 120, 2 * K, 2 * K]);
      for (let k = 0; k < K; k++) {
        const [x, y] = s.points[k]!;
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(160);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(60);
        // the mirror: the same place, reflected about the frame's middle
        expect(s.points[K + k]![0]).toBeCloseTo(x, 9);
        expect(s.points[K + k]![1]).toBeCloseTo(120 - y, 9);
      }
      const nose = s.points[idx('nose')]!;
      const base = s.points[idx('tail_base')]!;
      expect(nose[0] - base[0]).toBeGreaterThan(2 * Math.abs(nose[1] - base[1]));
      // the animal's left is up in the top view (seen from above, heading right), down in the mirror
      expect(s.points[idx('left_ear')]![1]).toBeLessThan(s.points[idx('right_ear')]![1]);
      expect(s.points[K + idx('left_ear')]![1]).toBeGreaterThan(s.points[K + idx('right_ear')]![1]);
      along.push(base[0]);
    }
    expect(Math.max(...along) - Math.min(...along)).toBeGreaterThan(50);
  });

  it('keeps the crop and frame regimes at their 11 critter keypoints', () => {
    for (const regime of ['crop', 'frame'] as const) {
      expect(demoSchema(regime).names).toEqual([...CRITTER_KEYPOINTS]);
      expect(demoSchema(regime).flipPairs).toEqual(CRITTER_FLIP_PAIRS);
    }
  });

  it('rejects bad options', () => {
    expect(() => renderDemoSample(1, 0, { regime: 'video' as never })).toThrow(/Unknown demo regime/);
    expect(() => renderDemoSample(1, 0, { regime: 'crop', size: 8 })).toThrow(/at least 16/);
  });
});
