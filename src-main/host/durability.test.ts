// Durability over the wire: `landmark-studio serve` in a child process takes a stream of label
// writes and is killed with SIGKILL mid-stream, several times over; every write it acknowledged
// (HTTP 200) must be in the project afterwards, and the database must be whole.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelingProject, workspace, type Workspace } from '../services/testing/fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/landmark-studio.mjs', import.meta.url));
const KILLS = 4;
const TOKEN = 'durability-test-token-0001';

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Starts serve on the project; resolves once it printed its URL. */
function serve(projectDir: string, home: string): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', projectDir, '--token', TOKEN], {
    env: { ...process.env, LANDMARK_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/\S+\/)\?token=/.exec(output);
      if (match) resolve({ child, url: match[1]!, exited });
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before printing its URL:\n${output}`)));
  });
}

interface Write {
  imageId: number;
  keypointId: number;
  x: number;
  y: number;
}

let ws: Workspace;
beforeEach(() => {
  ws = workspace('ls-durable-');
});
afterEach(() => ws.cleanup());

describe('serve killed mid-stream', () => {
  it(`keeps every acknowledged label write over ${KILLS} SIGKILLs`, async () => {
    const made = await labelingProject(ws, 4, ['a', 'b', 'c']);
    made.services.close();
    const acknowledged: Write[] = [];
    let counter = 0;
    for (let round = 0; round < KILLS; round++) {
      const served = await serve(ws.projectDir, path.join(ws.dir, 'home'));
      const before = acknowledged.length;
      // Killed after a varying number of writes, while the next ones are in flight.
      const killAfter = 40 + round * 25;
      let killed = false;
      const writers = [0, 1, 2].map(async () => {
        for (;;) {
          counter += 1;
          // Coordinates unique per write (inside the 64 x 48 images), so each one can be found again.
          const write: Write = {
            imageId: made.images[counter % made.images.length]!.id,
            keypointId: made.keypoints[counter % made.keypoints.length]!.id,
            x: (counter % 640) / 10,
            y: Math.floor(counter / 640) / 10,
          };
          if (!killed && acknowledged.length - before >= killAfter) killed = served.child.kill('SIGKILL');
          try {
            const res = await fetch(`${served.url}api/annotations.set`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
              body: JSON.stringify(write),
            });
            if (res.status !== 200) throw new Error(`write refused (${res.status}): ${await res.text()}`);
            acknowledged.push(write);
          } catch (error) {
            if (!killed) throw error;
            return; // the server was killed: this write was never acknowledged
          }
        }
      });
      await Promise.all(writers);
      await served.exited;
      expect(acknowledged.length - before, `round ${round}`).toBeGreaterThanOrEqual(killAfter);
    }

    const db = new Database(path.join(ws.projectDir, 'project.sqlite'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const recorded = new Set(
        (
          db
            .prepare(
              "SELECT image_id, keypoint_id, json_extract(after, '$.x') AS x, json_extract(after, '$.y') AS y FROM annotation_history",
            )
            .all() as {
            image_id: number;
            keypoint_id: number;
            x: number;
            y: number;
          }[]
        ).map((r) => `${r.image_id}/${r.keypoint_id}/${r.x}/${r.y}`),
      );
      const lost = acknowledged.filter((w) => !recorded.has(`${w.imageId}/${w.keypointId}/${w.x}/${w.y}`));
      expect(lost).toEqual([]);
    } finally {
      db.close();
    }
  }, 120_000);
});
