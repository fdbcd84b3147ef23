import { describe, expect, it } from 'vitest';
import { createRng, mixSeed } from './random.js';

describe('createRng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
  });

  it('draws uniforms in [0, 1) with the right mean, and normals with the right moments', () => {
    const rng = createRng(1);
    const u = Array.from({ length: 20000 }, () => rng.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(u.reduce((s, v) => s + v, 0) / u.length).toBeCloseTo(0.5, 1);
    const n = Array.from({ length: 20000 }, () => rng.normal(3, 2));
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const sd = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
    expect(mean).toBeCloseTo(3, 1);
    expect(sd).toBeCloseTo(2, 1);
  });

  it('int covers both ends and rejects bad ranges', () => {
    const rng = createRng(5);
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(2, 5)));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
    expect(() => rng.int(3, 2)).toThrow(/bad range/);
  });

  it('shuffled returns a permutation and leaves the input alone', () => {
    const rng = createRng(9);
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = rng.shuffled(items);
    expect(out).not.toEqual(items);
    expect([...out].sort((x, y) => x - y)).toEqual(items);
    expect(items[0]).toBe(0);
  });

  it('forks independent, reproducible streams', () => {
    const f1 = createRng(3).fork();
    const f2 = createRng(3).fork();
    expect(f1.next()).toBe(f2.next());
  });
});

describe('mixSeed', () => {
  it('depends on every part, their order, and high bits', () => {
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(2 ** 40)).not.toBe(mixSeed(0));
  });
});
