import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toInputPoints, type MaybePoint } from '../../../src-shared/geometry.js';
import { initEngine, tf } from '../engine.js';
import { BatchLoader, type ImageBatch, type LoaderItem } from './batchLoader.js';
import { ImageDecodeError } from './decode.js';
import { preprocessImage } from './preprocess.js';

let dir: string;
let items: LoaderItem[];

async function collect(loader: BatchLoader, epoch = 0): Promise<ImageBatch[]> {
  const out: ImageBatch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}
const dispose = (batches: ImageBatch[]): void => batches.forEach((b) => b.images.dispose());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` holds or 10 s pass (the expect that follows says what is missing). */
async function waitUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) await sleep(20);
}

beforeAll(async () => {
  await initEngine();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ls-loader-'));
  items = [];
  for (let i = 0; i < 10; i++) {
    const w = 30 + 7 * i;
    const h = 50 - 2 * i;
    const file = path.join(dir, `img${i}.png`);
    await sharp({ create: { width: w, height: h, channels: 3, background: { r: 20 * i, g: 100, b: 255 - 20 * i } } })
      .png()
      .toFile(file);
    const points: MaybePoint[] = [[w / 2, h / 3], null];
    items.push({ path: file, points });
  }
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('BatchLoader', () => {
  it('yields every item once per epoch in [B, size, size, 3] float batches in [0, 1]', async () => {
    const loader = new BatchLoader(items, { size: 24, mode: 'letterbox', batchSize: 4 });
    expect(loader.batchesPerEpoch).toBe(3);
    const batches = await collect(loader);
    expect(batches.map((b) => b.images.shape)).toEqual([
      [4, 24, 24, 3],
      [4, 24, 24, 3],
      [2, 24, 24, 3],
    ]);
    expect(batches.flatMap((b) => b.indices)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // row 1 of batch 0 is item 1 exactly as preprocessImage renders it, scaled to [0, 1]
    const single = await preprocessImage(items[1]!, { size: 24, mode: 'letterbox' });
    const row = Array.from(batches[0]!.images.slice([1, 0, 0, 0], [1, 24, 24, 3]).dataSync());
    expect(row.map((v) => Math.round(v * 255))).toEqual(Array.from(single.data));
    // points come back in input pixels, nulls kept
    expect(batches[0]!.points[1]).toEqual(toInputPoints(single.transform, items[1]!.points!));
    expect(batches[0]!.transforms[1]).toEqual(single.transform);
    dispose(batches);
  });

  it('can give the first batch a size of its own, larger or smaller than the rest', async () => {
    const batch = (firstBatchSize: number) =>
      new BatchLoader(items, { size: 16, mode: 'stretch', batchSize: 4, firstBatchSize });
    expect(batch(6).batchOrder()).toEqual([
      [0, 1, 2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    expect(batch(3).batchOrder()).toEqual([
      [0, 1, 2],
      [3, 4, 5, 6],
      [7, 8, 9],
    ]);
    expect(batch(12).batchOrder()).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    const batches = await collect(batch(6));
    expect(batches.map((b) => b.images.shape[0])).toEqual([6, 4]);
    dispose(batches);
    expect(() => new BatchLoader(items, { size: 16, mode: 'stretch', batchSize: 4, firstBatchSize: 0 })).toThrow(
      /firstBatchSize must be a positive integer/,
    );
  });

  it('shuffles reproducibly per seed and epoch, and can drop the last partial batch', async () => {
    const opts = { size: 16, mode: 'stretch' as const, batchSize: 4, shuffle: true, seed: 7, dropLast: true };
    const a = new BatchLoader(items, opts);
    const b = new BatchLoader(items, opts);
    expect(a.batchOrder(0)).toEqual(b.batchOrder(0));
    expect(a.batchOrder(0)).not.toEqual(a.batchOrder(1));
    expect(a.batchOrder(0).flat()).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const batches = await collect(a, 1);
    expect(batches).toHaveLength(2);
    expect(batches.flatMap((x) => x.indices)).toEqual(a.batchOrder(1).flat());
    dispose(batches);
  });

  it('stops on a broken image naming it, or skips and reports it when asked', async () => {
    const broken = path.join(dir, 'broken.jpg');
    await fs.writeFile(broken, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    const withBroken = [...items.slice(0, 3), { path: broken }, ...items.slice(3, 5)];
    const failing = new BatchLoader(withBroken, { size: 16, mode: 'stretch', batchSize: 2 });
    const seen: ImageBatch[] = [];
    const error = await (async () => {
      for await (const b of failing.epoch()) seen.push(b);
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toContain(broken);
    expect(seen).toHaveLength(1); // the batch before the broken one was delivered
    dispose(seen);

    const reported: string[] = [];
    const skipping = new BatchLoader(withBroken, {
      size: 16,
      mode: 'stretch',
      batchSize: 2,
      onBrokenImage: (p) => reported.push(p),
    });
    const batches = await collect(skipping);
    expect(reported).toEqual([broken]);
    expect(batches.flatMap((b) => b.indices)).toEqual([0, 1, 2, 4, 5]);
    dispose(batches);
  });

  it('prepares the next `prefetch` batches while the caller holds the current one, and no more', async () => {
    // Broken images act as probes: the callback fires when their batch is prepared.
    const probe = (name: string): LoaderItem => ({ path: path.join(dir, `missing-${name}.png`) });
    const list = [items[0]!, items[1]!, probe('b1'), probe('b2'), probe('b3'), items[2]!];
    const prepared: string[] = [];
    const loader = new BatchLoader(list, {
      size: 16,
      mode: 'stretch',
      batchSize: 2,
      prefetch: 2,
      onBrokenImage: (p) => prepared.push(path.basename(p)),
    });
    const iter = loader.epoch();
    const first = await iter.next();
    expect(first.value!.indices).toEqual([0, 1]);
    // While batch 0 is held, batches 1 and 2 get prepared; batch 3 does not exist, batch 2's
    // probes must be seen without asking for another batch.
    await waitUntil(() => prepared.length >= 3);
    expect(prepared.sort()).toEqual(['missing-b1.png', 'missing-b2.png', 'missing-b3.png']);
    first.value!.images.dispose();
    const rest: ImageBatch[] = [];
    for (let r = await iter.next(); !r.done; r = await iter.next()) rest.push(r.value);
    expect(rest.map((b) => b.indices)).toEqual([[5]]);
    dispose(rest);
  });

  it('bounds how far ahead it reads', async () => {
    const list = Array.from({ length: 6 }, (_, i) => ({ path: path.join(dir, `absent-${i}.png`) }));
    const seen: string[] = [];
    const loader = new BatchLoader([items[0]!, ...list], {
      size: 16,
      mode: 'stretch',
      batchSize: 1,
      prefetch: 2,
      onBrokenImage: (p) => seen.push(path.basename(p)),
    });
    const iter = loader.epoch();
    await iter.next(); // batch 0 (good) delivered; batches 1 and 2 may be in flight, 3+ not
    await waitUntil(() => seen.length >= 2);
    await sleep(200); // time for any (wrong) extra read to show
    expect(seen.sort()).toEqual(['absent-0.png', 'absent-1.png']);
    await iter.return(undefined);
  });

  it('gives the same batches from the input thread, and the same reports and errors', async () => {
    const broken = path.join(dir, 'broken-thread.jpg');
    await fs.writeFile(broken, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    const list = [...items.slice(0, 5), { path: broken }, ...items.slice(5)];
    const options = { size: 20, mode: 'letterbox' as const, batchSize: 3, shuffle: true, seed: 3 };
    const run = async (thread: boolean) => {
      const reported: string[] = [];
      const batches = await collect(
        new BatchLoader(list, { ...options, thread, onBrokenImage: (p, e) => reported.push(`${p}: ${e.message}`) }),
      );
      const pixels = batches.map((b) => Array.from(b.images.dataSync()));
      const rows = batches.map(({ indices, transforms, points }) => ({ indices, transforms, points }));
      dispose(batches);
      return { reported, pixels, rows };
    };
    const inline = await run(false);
    const threaded = await run(true);
    expect(threaded.rows).toEqual(inline.rows);
    expect(threaded.pixels).toEqual(inline.pixels);
    // (libvips words the same damage differently from call to call: compare up to its detail)
    const upToDetail = (lines: string[]) => lines.map((line) => line.replace(/ \(.*\)$/, ''));
    expect(upToDetail(threaded.reported)).toEqual(upToDetail(inline.reported));
    expect(threaded.reported).toEqual([expect.stringContaining(`${broken}: Cannot read image`)]);

    const error = await collect(new BatchLoader(list, { ...options, thread: true })).then(
      (batches) => (dispose(batches), null),
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('ImageDecodeError');
    expect(error?.message).toContain(broken);
  });

  it.runIf(process.platform === 'linux')('stops the input thread when the caller stops early', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    const options = { size: 16, mode: 'stretch' as const, batchSize: 2 };
    // a pass on this thread first: libuv's and libvips' threads (one pool each per process) now exist
    dispose(await collect(new BatchLoader(items, options)));
    const before = threads();
    const loader = new BatchLoader(items, { ...options, thread: true });
    for await (const batch of loader.epoch()) {
      expect(threads()).toBeGreaterThan(before); // the input thread runs
      batch.images.dispose();
      break;
    }
    await waitUntil(() => threads() <= before);
    expect(threads()).toBeLessThanOrEqual(before);
  });

  it('leaks no tensors', async () => {
    const loader = new BatchLoader(items, { size: 16, mode: 'stretch', batchSize: 3 });
    await collect(loader).then(dispose); // warm-up
    const before = tf.memory().numTensors;
    await collect(loader).then(dispose);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options', () => {
    expect(() => new BatchLoader(items, { size: 16, mode: 'stretch', batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new BatchLoader(items, { size: 16, mode: 'stretch', batchSize: 2, prefetch: -1 })).toThrow(/prefetch/);
  });
});
