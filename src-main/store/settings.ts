// Project-wide settings: a key -> JSON value table.
import type Database from 'better-sqlite3';

export interface SettingValues {
  name: string;
  /** Absolute path of the image root. */
  imageRoot: string;
  normPair: [number, number] | null;
  createdAt: string;
}

export class SettingsStore {
  private readonly getStmt;
  private readonly setStmt;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
    this.setStmt = db.prepare<[string, string]>(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
  }

  get<K extends keyof SettingValues>(key: K): SettingValues[K] | undefined {
    const row = this.getStmt.get(key);
    return row ? (JSON.parse(row.value) as SettingValues[K]) : undefined;
  }

  require<K extends keyof SettingValues>(key: K): SettingValues[K] {
    const value = this.get(key);
    if (value === undefined)
      throw new Error(`The project database has no '${key}' setting: it is damaged or not a project`);
    return value;
  }

  set<K extends keyof SettingValues>(key: K, value: SettingValues[K]): void {
    this.setStmt.run(key, JSON.stringify(value));
  }
}
