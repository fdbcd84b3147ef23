// Opening a project database: WAL so readers never block the writer and a killed process loses
// no committed change; a busy timeout so a second process waits for the lock instead of failing;
// foreign keys on; then the ordered migrations.
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export const PROJECT_DB_FILE = 'project.sqlite';

/** How long a writer waits for another process's transaction before giving up. */
const BUSY_TIMEOUT_MS = 10_000;

export class ProjectLockedError extends Error {}

export function openProjectDatabase(file: string, options: { create?: boolean } = {}): Database.Database {
  const db = new Database(file, { fileMustExist: !options.create });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives the process being killed at any point; only an
    // operating-system crash or power loss can drop the last few commits (never corrupts).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof Error && /database is locked|SQLITE_BUSY/i.test(err.message)) {
      throw new ProjectLockedError(
        `The project database ${file} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s: close the other Landmark Studio window or command using this project and try again.`,
      );
    }
    throw err;
  }
}
