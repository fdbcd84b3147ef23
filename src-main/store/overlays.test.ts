import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16 } from '../../src-shared/float16.js';
import { OverlayDataError, type OverlayInput } from './overlays.js';
import { ProjectStore } from './projectStore.js';

let dir: string;
let store: ProjectStore;
let images: number[];
let keypoint: number;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-overlays-'));
  store = ProjectStore.create(dir, { name: 'p', imageRoot: dir });
  store.images.insertScanned(
    ['a.jpg', 'b.jpg'].map((relPath) => ({
      relPath,
      hash: null,
      width: 96,
      height: 64,
      orientation: 1,
      problem: null,
    })),
  );
  images = ['a.jpg', 'b.jpg'].map((p) => store.images.getByPath(p)!.id);
  keypoint = store.keypoints.add('nose', '#ff0000');
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const grid = 48;
const mapValues = Float32Array.from({ length: grid * grid }, (_, i) => Math.cos(i / 50));
function matchOverlay(runId: number): OverlayInput & { values: Float32Array } {
  return {
    runId,
    imageId: images[1]!,
    keypointId: keypoint,
    kind: 'match',
    width: grid,
    height: grid,
    bounds: { x: 0, y: -16, w: 96, h: 96 },
    values: mapValues,
    reference: { imageId: images[0]!, x: 12.5, y: 30 },
    match: { x: 40, y: 20, score: 0.93, second: { x: 70, y: 22, score: 0.9 }, margin: 0.03 },
  };
}

describe('overlays store', () => {
  it('stores a map as float16 with its range, reference and match, and reads it back in under 20 ms', () => {
    const run = store.runs.create({ kind: 'pretrain', method: 'projection', config: {} });
    const input = matchOverlay(run.id);
    const id = store.overlays.put(input);
    const started = performance.now();
    const back = store.overlays.find(run.id, images[1]!, keypoint, 'match')!;
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(20);
    expect(back).toMatchObject({
      id,
      width: grid,
      height: grid,
      bounds: input.bounds,
      reference: input.reference,
      match: input.match,
    });
    expect(back.valueMax).toBeCloseTo(1, 6);
    expect(back.valueMin).toBeCloseTo(Math.min(...Array.from(input.values)), 6);
    expect(Math.max(...back.values.map((v, i) => Math.abs(v - input.values[i]!)))).toBeLessThan(1e-3);
    const bytes = (store.db.prepare('SELECT length(data) AS n FROM overlays WHERE id = ?').get(id) as { n: number }).n;
    expect(bytes).toBe(grid * grid * 2);
  });

  it('stores float16 bytes from a job as they are, with the range of the values they hold', () => {
    const run = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    const float16 = encodeFloat16(mapValues);
    const id = store.overlays.put({ ...matchOverlay(run.id), values: { float16 } });
    const stored = (store.db.prepare('SELECT data FROM overlays WHERE id = ?').get(id) as { data: Buffer }).data;
    expect(Buffer.compare(stored, Buffer.from(float16))).toBe(0);
    const back = store.overlays.get(id)!;
    expect(back.valueMax).toBeCloseTo(1, 6);
    expect(back.valueMin).toBeCloseTo(Math.min(...mapValues), 3);
    expect(Array.from(back.values)).toEqual(Array.from(decodeFloat16(float16)));
  });

  it('replaces the same query, and deletes overlays with their run', () => {
    const run = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    const count = () => (store.db.prepare('SELECT count(*) AS n FROM overlays').get() as { n: number }).n;
    store.overlays.put(matchOverlay(run.id));
    const second = store.overlays.put({ ...matchOverlay(run.id), match: { ...matchOverlay(run.id).match!, x: 1 } });
    expect(count()).toBe(1);
    expect(store.overlays.get(second)!.match!.x).toBe(1);
    store.overlays.put({ ...matchOverlay(run.id), kind: 'heatmap', reference: null, match: null });
    expect(count()).toBe(2);
    store.runs.delete(run.id);
    expect(count()).toBe(0);
    expect(store.overlays.get(second)).toBeUndefined();
  });

  it('reports a truncated blob instead of showing half a map, and keeps the row', () => {
    const run = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    const id = store.overlays.put(matchOverlay(run.id));
    store.db.prepare('UPDATE overlays SET data = substr(data, 1, 1000) WHERE id = ?').run(id);
    expect(() => store.overlays.get(id)).toThrow(OverlayDataError);
    expect(() => store.overlays.get(id)).toThrow(
      `Overlay ${id}'s map is damaged: 1000 bytes where its 48x48 grid needs 4608. Compute it again`,
    );
    expect((store.db.prepare('SELECT count(*) AS n FROM overlays').get() as { n: number }).n).toBe(1);
  });

  it('refuses a map whose values do not fill its grid, or are not finite', () => {
    const run = store.runs.create({ kind: 'predict', method: 'heatmap', config: {} });
    expect(() => store.overlays.put({ ...matchOverlay(run.id), width: 10 })).toThrow(/needs 480 values; got 2304/);
    const values = new Float32Array(grid * grid);
    values[3] = NaN;
    expect(() => store.overlays.put({ ...matchOverlay(run.id), values })).toThrow(/value 3 is not a finite number/);
    const float16 = encodeFloat16(mapValues);
    float16[2 * 7 + 1] = 0x7c; // value 7: +infinity
    expect(() => store.overlays.put({ ...matchOverlay(run.id), values: { float16 } })).toThrow(
      /value 7 is not a finite number/,
    );
    expect(() => store.overlays.put({ ...matchOverlay(run.id), values: { float16: float16.subarray(1) } })).toThrow(
      /float16 data of 4607 bytes is cut short/,
    );
    expect(() => store.overlays.put({ ...matchOverlay(run.id), values: { float16: float16.subarray(2) } })).toThrow(
      /needs 2304 values; got 2303/,
    );
    expect(
      (store.db.prepare('SELECT count(*) AS n FROM overlays WHERE run_id = ?').get(run.id) as { n: number }).n,
    ).toBe(0);
  });
});
