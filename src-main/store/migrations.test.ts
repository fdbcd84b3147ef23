import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProjectDatabase } from './database.js';
import { migrate, MIGRATIONS, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { ProjectStore } from './projectStore.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ls-store-'));
  file = path.join(dir, 'project.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );

describe('project database', () => {
  it('creates every table of the design at the latest version, in WAL mode with foreign keys on', () => {
    const db = openProjectDatabase(file, { create: true });
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(tables(db)).toEqual(
      expect.arrayContaining([
        'settings',
        'images',
        'keypoints',
        'skeleton_edges',
        'annotations',
        'annotation_history',
        'runs',
        'run_metrics',
        'predictions',
        'overlays',
        'evaluations',
      ]),
    );
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(1000);
    db.close();
  });

  it('migrates a version-1 database holding labels to the latest version without losing them', () => {
    const old = new Database(file);
    migrate(old, 1);
    expect(schemaVersion(old)).toBe(1);
    expect(tables(old)).not.toContain('runs');
    old.exec(`
      INSERT INTO settings VALUES ('name', '"old"'), ('imageRoot', '"/data"'), ('normPair', 'null'), ('createdAt', '"2020-01-01"');
      INSERT INTO images (id, rel_path, hash, width, height) VALUES (1, 'a.jpg', 'abc', 640, 480);
      INSERT INTO keypoints (id, name, color, ord) VALUES (1, 'nose', '#ff0000', 0);
      INSERT INTO annotations VALUES (1, 1, 10.5, 20.25, 'visible', 'human', '2020-01-01T00:00:00Z');`);
    old.close();

    const store = ProjectStore.open(dir);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(tables(store.db)).toContain('runs');
    expect(store.annotations.get(1, 1)).toMatchObject({ x: 10.5, y: 20.25, visibility: 'visible' });
    expect(store.settings.require('name')).toBe('old');
    // The new tables are usable and tied to the old rows by foreign keys.
    store.db.exec(
      `INSERT INTO runs (id, kind, method, config, status, created_at) VALUES (1, 'train', 'heatmap', '{}', 'done', 'now')`,
    );
    store.db.exec('INSERT INTO predictions VALUES (1, 1, 1, 11, 21, 0.9)');
    expect(() => store.db.exec('INSERT INTO predictions VALUES (1, 99, 1, 11, 21, 0.9)')).toThrow(/FOREIGN KEY/);
    store.close();
  });

  it('rolls a failing migration step back whole, leaving the previous version', () => {
    const old = new Database(file);
    migrate(old, 1);
    // A table in the way makes step 2 fail halfway through its statements.
    old.exec('CREATE TABLE evaluations (x INTEGER)');
    expect(() => migrate(old)).toThrow(/evaluations/);
    expect(schemaVersion(old)).toBe(1);
    expect(tables(old)).not.toContain('runs');
    old.close();
  });

  it('refuses a database written by a newer version of the app', () => {
    openProjectDatabase(file, { create: true }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openProjectDatabase(file)).toThrow(/newer than this version of the app/);
  });

  it('keeps flip partners symmetric and edges unique whichever way they are given', () => {
    const store = ProjectStore.create(dir, { name: 'p', imageRoot: dir });
    const [a, b, c] = ['l', 'r', 'm'].map((n) => store.keypoints.add(n, '#000000')) as [number, number, number];
    store.keypoints.setFlipPartner(a, b);
    store.keypoints.setFlipPartner(c, b); // b leaves a for c
    const partner = (id: number) => store.keypoints.get(id)?.flipPartnerId;
    expect([partner(a), partner(b), partner(c)]).toEqual([null, c, b]);
    store.keypoints.setFlipPartner(b, null);
    expect([partner(b), partner(c)]).toEqual([null, null]);
    store.keypoints.addEdge(b, a);
    expect(store.keypoints.findEdge(a, b)).toBeDefined();
    expect(() => store.keypoints.addEdge(a, b)).toThrow(/UNIQUE/);
    store.close();
  });
});
