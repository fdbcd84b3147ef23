import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelingProject, testServices, workspace } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

const WORKER = fileURLToPath(new URL('./testing/annotateWorker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Worker {
  /** Changes the worker reported as committed so far. */
  committed(): number;
  exited: Promise<number | null>;
  kill(): void;
}

function startWorker(projectDir: string, tag: number, count: number | 'forever'): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, projectDir, String(tag), String(count)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) console.error(`worker ${tag} failed:\n${err}`);
      resolve(code);
    }),
  );
  return {
    committed: () => {
      const lines = out.split('\n');
      lines.pop(); // an unfinished last line is not a report
      return lines.length ? Number(lines.at(-1)) : 0;
    },
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Checks the database is whole and every annotation is the latest change recorded for it. */
function checkConsistent(projectDir: string): { history: number; annotations: number } {
  const db = new Database(path.join(projectDir, 'project.sqlite'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const mismatched = db
      .prepare(
        `SELECT a.image_id, a.keypoint_id FROM annotations a
         WHERE (SELECT json_extract(h.after, '$.x') FROM annotation_history h
                WHERE h.image_id = a.image_id AND h.keypoint_id = a.keypoint_id ORDER BY h.id DESC LIMIT 1) IS NOT a.x`,
      )
      .all();
    expect(mismatched).toEqual([]);
    return {
      history: (db.prepare('SELECT count(*) AS n FROM annotation_history').get() as { n: number }).n,
      annotations: (db.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}

const until = async (check: () => boolean, timeoutMs = 30_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

describe('several writers on one project', () => {
  it('two processes and two in-process services instances writing at once lose and corrupt nothing', async () => {
    const p = await labelingProject(ws, 5, ['a', 'b', 'c', 'd']);
    const second = testServices({ projectDir: ws.projectDir });
    const perWorker = 150;
    const workers = [startWorker(ws.projectDir, 1, perWorker), startWorker(ws.projectDir, 2, perWorker)];
    // Meanwhile this process writes through two services instances of its own.
    await until(() => workers.some((w) => w.committed() > 0));
    let local = 0;
    for (let i = 0; i < 100; i++) {
      const t = i % 2 === 0 ? p : second;
      await t.call('annotations.set', {
        imageId: p.images[i % 5]!.id,
        keypointId: p.keypoints[i % 4]!.id,
        x: 3 + (i % 2),
        y: 1,
      });
      local += 1;
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    const { history, annotations } = checkConsistent(ws.projectDir);
    expect(history).toBe(2 * perWorker + local);
    expect(annotations).toBe(20);
    p.services.close();
    second.services.close();
  });

  it('a writer killed mid-stream leaves a whole database with every change it reported committed', async () => {
    const p = await labelingProject(ws, 5, ['a', 'b', 'c']);
    p.services.close();
    const worker = startWorker(ws.projectDir, 7, 'forever');
    await until(() => worker.committed() >= 200);
    worker.kill();
    await worker.exited;
    const reported = worker.committed();
    const { history } = checkConsistent(ws.projectDir);
    expect(history).toBeGreaterThanOrEqual(reported);
    // The project opens and takes changes again, undo included.
    const again = testServices({ projectDir: ws.projectDir });
    await again.call('annotations.set', { imageId: p.images[0]!.id, keypointId: p.keypoints[0]!.id, x: 9, y: 9 });
    expect((await again.call('history.undo', {}))?.imageId).toBe(p.images[0]!.id);
    again.services.close();
  });
});
