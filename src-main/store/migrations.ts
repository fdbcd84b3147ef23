// Ordered schema migrations. The schema version is SQLite's `user_version`: migration i (0-based)
// takes a database from version i to i + 1. Never edit a released migration: append a new one.
import type Database from 'better-sqlite3';

export interface Migration {
  /** What this step adds, for error messages and reviewers. */
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'labeling: settings, images, keypoints, skeleton edges, annotations and their history',
    sql: `
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL            -- JSON
      );

      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        rel_path TEXT NOT NULL,        -- '/'-separated, relative to the image root
        hash TEXT,                     -- sha1 of the file's bytes; null when unreadable
        width INTEGER NOT NULL DEFAULT 0,   -- after EXIF orientation
        height INTEGER NOT NULL DEFAULT 0,
        orientation INTEGER NOT NULL DEFAULT 1,
        split TEXT CHECK (split IN ('train', 'val', 'test')),
        problem TEXT,                  -- why the image cannot be used, or null
        crop_x INTEGER, crop_y INTEGER, crop_w INTEGER, crop_h INTEGER,  -- instance items only
        -- Annotations on this item, kept by the triggers below so list filters need no join.
        labeled_count INTEGER NOT NULL DEFAULT 0,
        CHECK ((crop_x IS NULL) = (crop_w IS NULL) AND (crop_y IS NULL) = (crop_h IS NULL)
               AND (crop_x IS NULL) = (crop_y IS NULL))
      );
      CREATE UNIQUE INDEX images_item ON images (
        rel_path, ifnull(crop_x, -1), ifnull(crop_y, -1), ifnull(crop_w, -1), ifnull(crop_h, -1));
      CREATE INDEX images_order ON images (rel_path, id);
      CREATE INDEX images_hash ON images (hash);

      CREATE TABLE keypoints (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        color TEXT NOT NULL,
        ord INTEGER NOT NULL,
        flip_partner_id INTEGER REFERENCES keypoints (id) ON DELETE SET NULL
      );

      CREATE TABLE skeleton_edges (
        id INTEGER PRIMARY KEY,
        a INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        CHECK (a < b),                 -- stored normalised, so (a, b) and (b, a) are one edge
        UNIQUE (a, b)
      );

      CREATE TABLE annotations (
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        keypoint_id INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        x REAL NOT NULL,
        y REAL NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('visible', 'occluded', 'absent')),
        source TEXT NOT NULL CHECK (source IN ('human', 'accepted', 'corrected')),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (image_id, keypoint_id)
      ) WITHOUT ROWID;
      CREATE INDEX annotations_keypoint ON annotations (keypoint_id);
      -- Also fired by foreign-key cascades; an upsert that updates fires neither.
      CREATE TRIGGER annotations_counted AFTER INSERT ON annotations BEGIN
        UPDATE images SET labeled_count = labeled_count + 1 WHERE id = NEW.image_id;
      END;
      CREATE TRIGGER annotations_uncounted AFTER DELETE ON annotations BEGIN
        UPDATE images SET labeled_count = labeled_count - 1 WHERE id = OLD.image_id;
      END;

      -- One row per annotation change; rows sharing group_id are one undo step.
      -- state: done (undoable), undone (redoable), discarded (redo tail dropped; kept for audit).
      CREATE TABLE annotation_history (
        id INTEGER PRIMARY KEY,
        group_id INTEGER NOT NULL,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        keypoint_id INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        before TEXT,                   -- JSON {x, y, visibility, source, updatedAt} or null
        after TEXT,                    -- same, null when the change deleted the annotation
        state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone', 'discarded')),
        created_at TEXT NOT NULL
      );
      CREATE INDEX annotation_history_group ON annotation_history (group_id);
      CREATE INDEX annotation_history_state ON annotation_history (state, group_id);
      CREATE INDEX annotation_history_image ON annotation_history (image_id);
      CREATE INDEX annotation_history_keypoint ON annotation_history (keypoint_id);
    `,
  },
  {
    description: 'models: runs, step metrics, predictions, overlays, evaluations',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,            -- pretrain | train | predict | evaluate
        method TEXT NOT NULL,
        config TEXT NOT NULL,          -- JSON
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
        backend TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        metrics TEXT,                  -- JSON summary
        checkpoint_path TEXT,          -- relative to the project's models/
        parent_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        error TEXT
      );

      CREATE TABLE run_metrics (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) WITHOUT ROWID;

      CREATE TABLE predictions (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        keypoint_id INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        x REAL NOT NULL,
        y REAL NOT NULL,
        confidence REAL NOT NULL,
        PRIMARY KEY (run_id, image_id, keypoint_id)
      ) WITHOUT ROWID;
      CREATE INDEX predictions_image ON predictions (image_id);

      CREATE TABLE overlays (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        keypoint_id INTEGER REFERENCES keypoints (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,            -- e.g. heatmap | similarity
        encoding TEXT NOT NULL,        -- png8 | float16
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        data BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX overlays_lookup ON overlays (run_id, image_id, keypoint_id);

      CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        metric TEXT NOT NULL,
        value REAL NOT NULL,
        per_keypoint TEXT,             -- JSON {keypointName: value}
        created_at TEXT NOT NULL
      );
      CREATE INDEX evaluations_run ON evaluations (run_id);
    `,
  },
  {
    description: 'runs: the process that owns a running run, so runs left running by a dead process can be failed',
    sql: `
      ALTER TABLE runs ADD COLUMN owner_pid INTEGER;  -- pid of the process persisting the run
    `,
  },
  {
    description: 'runs: the request of a queued run, so the queue outlives the app',
    sql: `
      ALTER TABLE runs ADD COLUMN request TEXT;     -- JSON of runs.start's request; NULL for runs started directly
      ALTER TABLE runs ADD COLUMN queued_at TEXT;   -- when it joined the queue (a resumed run joins at the back)
    `,
  },
  {
    description: 'flip partners: name-based partner proposals the user rejected, so re-imports do not pair them again',
    sql: `
      CREATE TABLE flip_pair_rejections (
        a INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES keypoints (id) ON DELETE CASCADE,
        CHECK (a < b),                 -- stored normalised, as skeleton edges are
        PRIMARY KEY (a, b)
      );
    `,
  },
  {
    description:
      'review: where an accepted or corrected label was predicted and by which run, the images of a prediction run reviewed, pooled features per image',
    sql: `
      -- Provenance of a label the model proposed (source 'accepted' or 'corrected'); NULL for
      -- human labels. The run id has no foreign key: provenance outlives a deleted run.
      ALTER TABLE annotations ADD COLUMN predicted_x REAL;
      ALTER TABLE annotations ADD COLUMN predicted_y REAL;
      ALTER TABLE annotations ADD COLUMN predicted_run_id INTEGER;

      CREATE TABLE reviewed_images (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,   -- a prediction run
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        reviewed_at TEXT NOT NULL,
        PRIMARY KEY (run_id, image_id)
      ) WITHOUT ROWID;

      CREATE TABLE image_features (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,   -- a features run
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        vector BLOB NOT NULL,          -- float32, little-endian
        PRIMARY KEY (run_id, image_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'overlays: the reference image and point a match map was matched from, and the map value range',
    sql: `
      ALTER TABLE overlays ADD COLUMN ref_image_id INTEGER REFERENCES images (id) ON DELETE CASCADE;
      ALTER TABLE overlays ADD COLUMN ref_x REAL;      -- reference point, original image pixels
      ALTER TABLE overlays ADD COLUMN ref_y REAL;
      ALTER TABLE overlays ADD COLUMN value_min REAL;  -- range of the map's values (display scaling)
      ALTER TABLE overlays ADD COLUMN value_max REAL;
      ALTER TABLE overlays ADD COLUMN bounds TEXT;     -- JSON {x, y, w, h}: the original-pixel rectangle the grid spans
      ALTER TABLE overlays ADD COLUMN info TEXT;       -- JSON: the match, its score and second peak (match maps)
      CREATE INDEX overlays_image ON overlays (image_id);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to `target` (default: latest), each step in its own transaction so a
 * crash leaves either the old or the new version. A database newer than this build is refused.
 */
export function migrate(db: Database.Database, target: number = SCHEMA_VERSION): void {
  // The version is re-read under a write lock, so two processes opening an old project at once
  // cannot both run the same step.
  for (;;) {
    const stepped = db
      .transaction(() => {
        const version = schemaVersion(db);
        if (version > SCHEMA_VERSION) {
          throw new Error(
            `This project's database has schema version ${version}, newer than this version of the app understands (${SCHEMA_VERSION}): update the app to open it.`,
          );
        }
        if (version >= target) return false;
        const migration = MIGRATIONS[version];
        if (!migration) throw new Error(`No migration from schema version ${version}`);
        db.exec(migration.sql);
        db.pragma(`user_version = ${version + 1}`);
        return true;
      })
      .immediate();
    if (!stepped) return;
  }
}
