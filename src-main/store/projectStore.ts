// A project on disk: a folder holding project.sqlite, models/ (weights, checkpoints) and cache/
// (thumbnails, converted images, decoded tensors). This class owns the open database and the
// query objects over it.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { AnnotationsStore } from './annotations.js';
import { openProjectDatabase, PROJECT_DB_FILE } from './database.js';
import { HistoryStore } from './history.js';
import { ImagesStore } from './images.js';
import { KeypointsStore } from './keypoints.js';
import { schemaVersion } from './migrations.js';
import { ReviewStore } from './review.js';
import { OverlaysStore } from './overlays.js';
import { RunsStore } from './runs.js';
import { SettingsStore } from './settings.js';

export const PROJECT_SUBDIRS = ['models', 'cache'] as const;

export class ProjectStore {
  readonly settings: SettingsStore;
  readonly images: ImagesStore;
  readonly keypoints: KeypointsStore;
  readonly annotations: AnnotationsStore;
  readonly history: HistoryStore;
  readonly runs: RunsStore;
  readonly review: ReviewStore;
  readonly overlays: OverlaysStore;

  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
  ) {
    this.settings = new SettingsStore(db);
    this.images = new ImagesStore(db);
    this.keypoints = new KeypointsStore(db);
    this.annotations = new AnnotationsStore(db);
    this.history = new HistoryStore(db);
    this.runs = new RunsStore(db);
    this.review = new ReviewStore(db);
    this.overlays = new OverlaysStore(db);
  }

  static exists(dir: string): boolean {
    return fs.existsSync(path.join(dir, PROJECT_DB_FILE));
  }

  /** Creates the folder layout and an empty, fully migrated database. */
  static create(dir: string, settings: { name: string; imageRoot: string }): ProjectStore {
    fs.mkdirSync(dir, { recursive: true });
    for (const sub of PROJECT_SUBDIRS) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const store = new ProjectStore(dir, openProjectDatabase(path.join(dir, PROJECT_DB_FILE), { create: true }));
    store.transaction(() => {
      store.settings.set('name', settings.name);
      store.settings.set('imageRoot', settings.imageRoot);
      store.settings.set('normPair', null);
      store.settings.set('createdAt', new Date().toISOString());
    });
    return store;
  }

  static open(dir: string): ProjectStore {
    const store = new ProjectStore(dir, openProjectDatabase(path.join(dir, PROJECT_DB_FILE)));
    for (const sub of PROJECT_SUBDIRS) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    return store;
  }

  /** Trained models and checkpoints; run records hold paths relative to it. */
  get modelsDir(): string {
    return path.join(this.dir, 'models');
  }

  get cacheDir(): string {
    return path.join(this.dir, 'cache');
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /**
   * Runs `fn` as one write transaction, taking the write lock first so a second process waits
   * (busy timeout) instead of failing halfway; any throw rolls everything back.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
