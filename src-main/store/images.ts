// Image items: one row per file found under the image root, plus one per instance crop cut from
// a file that holds several instances (same rel_path, a crop box).
import type Database from 'better-sqlite3';
import type { CropBox, ImageFilter, ImageRecord, ImageSummary, ScanProblem, Split } from '../../src-shared/domain.js';

/** What a scan learns about one file. */
export interface ScannedFile {
  relPath: string;
  hash: string | null;
  width: number;
  height: number;
  orientation: number;
  problem: string | null;
}

interface ImageRow {
  id: number;
  rel_path: string;
  hash: string | null;
  width: number;
  height: number;
  orientation: number;
  split: ImageRecord['split'];
  problem: string | null;
  crop_x: number | null;
  crop_y: number | null;
  crop_w: number | null;
  crop_h: number | null;
  labeled: number;
}

const COLUMNS = `i.id, i.rel_path, i.hash, i.width, i.height, i.orientation, i.split, i.problem,
  i.crop_x, i.crop_y, i.crop_w, i.crop_h, i.labeled_count AS labeled`;

const FILTERS: Record<ImageFilter, string> = {
  all: '1',
  labeled: 'i.labeled_count > 0',
  unlabeled: 'i.problem IS NULL AND i.labeled_count = 0',
  problems: 'i.problem IS NOT NULL',
};

function toRecord(row: ImageRow): ImageRecord {
  const crop: CropBox | null =
    row.crop_x === null ? null : { x: row.crop_x, y: row.crop_y ?? 0, w: row.crop_w ?? 0, h: row.crop_h ?? 0 };
  return {
    id: row.id,
    relPath: row.rel_path,
    crop,
    width: row.width,
    height: row.height,
    split: row.split,
    labeledCount: row.labeled,
    problem: row.problem,
    hash: row.hash ?? '',
    orientation: row.orientation,
  };
}

function toSummary(row: ImageRow): ImageSummary {
  const { hash: _hash, orientation: _orientation, ...summary } = toRecord(row);
  return summary;
}

export class ImagesStore {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly listStmts;
  private readonly countStmts;
  private readonly problemsStmt;
  private readonly duplicatesStmt;
  private readonly byPathStmt;
  private readonly findItemStmt;
  private readonly insertCropStmt;
  private readonly renameStmt;
  private readonly updateFileStmt;
  private readonly setProblemStmt;
  private readonly allFilesStmt;
  private readonly countsStmt;
  private readonly setSplitStmt;

  constructor(db: Database.Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO images (rel_path, hash, width, height, orientation, problem)
       VALUES (@relPath, @hash, @width, @height, @orientation, @problem)
       ON CONFLICT DO NOTHING`,
    );
    this.getStmt = db.prepare<[number], ImageRow>(`SELECT ${COLUMNS} FROM images i WHERE i.id = ?`);
    const filters = Object.keys(FILTERS) as ImageFilter[];
    this.listStmts = Object.fromEntries(
      filters.map((f) => [
        f,
        db.prepare<[number, number], ImageRow>(
          `SELECT ${COLUMNS} FROM images i WHERE ${FILTERS[f]} ORDER BY i.rel_path, i.id LIMIT ? OFFSET ?`,
        ),
      ]),
    ) as Record<ImageFilter, Database.Statement<[number, number], ImageRow>>;
    this.countStmts = Object.fromEntries(
      filters.map((f) => [f, db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM images i WHERE ${FILTERS[f]}`)]),
    ) as Record<ImageFilter, Database.Statement<[], { n: number }>>;
    this.problemsStmt = db.prepare<[], ScanProblem>(
      `SELECT rel_path AS relPath, problem AS reason FROM images
       WHERE problem IS NOT NULL AND crop_x IS NULL ORDER BY rel_path`,
    );
    // Every file whose content equals an earlier file's (by path order), with that first file.
    this.duplicatesStmt = db.prepare<[], { relPath: string; firstPath: string }>(
      `SELECT d.rel_path AS relPath,
              (SELECT min(f.rel_path) FROM images f WHERE f.hash = d.hash AND f.crop_x IS NULL) AS firstPath
       FROM images d
       WHERE d.hash IS NOT NULL AND d.crop_x IS NULL
         AND EXISTS (SELECT 1 FROM images e WHERE e.hash = d.hash AND e.crop_x IS NULL AND e.rel_path < d.rel_path)
       ORDER BY d.rel_path`,
    );
    this.byPathStmt = db.prepare<[string], ImageRow>(
      `SELECT ${COLUMNS} FROM images i WHERE i.rel_path = ? AND i.crop_x IS NULL`,
    );
    this.findItemStmt = db.prepare<[string, number, number, number, number], { id: number }>(
      `SELECT id FROM images WHERE rel_path = ? AND crop_x = ? AND crop_y = ? AND crop_w = ? AND crop_h = ?`,
    );
    this.insertCropStmt = db.prepare(
      `INSERT INTO images (rel_path, hash, width, height, orientation, problem, crop_x, crop_y, crop_w, crop_h)
       SELECT rel_path, hash, width, height, orientation, problem, @x, @y, @w, @h FROM images WHERE id = @baseId`,
    );
    // Both touch the whole file's row and every instance cut from it.
    this.renameStmt = db.prepare<[string, string]>('UPDATE images SET rel_path = ? WHERE rel_path = ?');
    this.updateFileStmt = db.prepare(
      `UPDATE images SET hash = @hash, width = @width, height = @height, orientation = @orientation,
         problem = @problem
       WHERE rel_path = @relPath`,
    );
    this.setProblemStmt = db.prepare<[string | null, string]>('UPDATE images SET problem = ? WHERE rel_path = ?');
    this.allFilesStmt = db.prepare<[], { relPath: string; hash: string | null }>(
      'SELECT rel_path AS relPath, hash FROM images WHERE crop_x IS NULL ORDER BY rel_path',
    );
    this.countsStmt = db.prepare<[], ImageCounts>(
      `SELECT count(*) AS images,
              count(*) FILTER (WHERE i.labeled_count > 0) AS labeledImages,
              count(*) FILTER (WHERE i.problem IS NOT NULL) AS problems,
              count(*) FILTER (WHERE i.split IS NOT NULL) AS inSplits,
              count(*) FILTER (WHERE i.labeled_count > 0 AND i.problem IS NULL AND coalesce(i.split, 'train') = 'train') AS labeledTrain,
              count(*) FILTER (WHERE i.labeled_count > 0 AND i.problem IS NULL AND i.split = 'test') AS labeledTest
       FROM images i`,
    );
    this.setSplitStmt = db.prepare<[Split | null, number]>('UPDATE images SET split = ? WHERE id = ?');
  }

  /** Inserts scanned files; a path already present is left alone. Returns how many were new. */
  insertScanned(files: readonly ScannedFile[]): number {
    let added = 0;
    for (const f of files) added += this.insertStmt.run(f).changes;
    return added;
  }

  get(id: number): ImageRecord | undefined {
    const row = this.getStmt.get(id);
    return row && toRecord(row);
  }

  /** The whole-file item at a path (not an instance crop). */
  getByPath(relPath: string): ImageRecord | undefined {
    const row = this.byPathStmt.get(relPath);
    return row && toRecord(row);
  }

  list(filter: ImageFilter, offset: number, limit: number): { total: number; items: ImageSummary[] } {
    const total = this.countStmts[filter].get()?.n ?? 0;
    return { total, items: this.listStmts[filter].all(limit, offset).map(toSummary) };
  }

  problems(): ScanProblem[] {
    return this.problemsStmt.all();
  }

  duplicates(): { relPath: string; firstPath: string }[] {
    return this.duplicatesStmt.all();
  }

  /** The item for one instance of a file, created from the file's row when new. */
  ensureCropItem(baseId: number, relPath: string, crop: CropBox): { id: number; created: boolean } {
    const found = this.findItemStmt.get(relPath, crop.x, crop.y, crop.w, crop.h);
    if (found) return { id: found.id, created: false };
    const info = this.insertCropStmt.run({ baseId, ...crop });
    return { id: Number(info.lastInsertRowid), created: true };
  }

  /** Moves a file's items (the whole file and its instance crops) to another path. */
  rename(fromPath: string, toPath: string): void {
    this.renameStmt.run(toPath, fromPath);
  }

  /** Records what a new scan learned about a file already known at `file.relPath`. */
  updateFile(file: ScannedFile): void {
    this.updateFileStmt.run(file);
  }

  setProblem(relPath: string, problem: string | null): void {
    this.setProblemStmt.run(problem, relPath);
  }

  /** Every whole file (not instance crops), by path. */
  allFiles(): { relPath: string; hash: string | null }[] {
    return this.allFilesStmt.all();
  }

  /** Puts one item in a split (train / val / test), or in none. */
  setSplit(id: number, split: Split | null): void {
    this.setSplitStmt.run(split, id);
  }

  counts(): ImageCounts {
    return (
      this.countsStmt.get() ?? {
        images: 0,
        labeledImages: 0,
        problems: 0,
        inSplits: 0,
        labeledTrain: 0,
        labeledTest: 0,
      }
    );
  }
}

/** Image counts for the project summary; images in no split count as train (as training draws them). */
export interface ImageCounts {
  images: number;
  labeledImages: number;
  problems: number;
  /** Images assigned to train, val or test. */
  inSplits: number;
  labeledTrain: number;
  labeledTest: number;
}
