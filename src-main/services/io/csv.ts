// RFC 4180 CSV: quoted cells may hold commas, quotes ("") and line breaks. Records keep the line
// they start on so that errors can name it.
import { ImportFormatError } from './labelSet.js';

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  cells: string[];
}

/** Splits CSV text into records; empty lines are skipped, a leading byte-order mark is ignored. */
export function readCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const start = line;
    const cells: string[] = [];
    let endOfRecord = false;
    if (src[i] === '\n' || src.startsWith('\r\n', i)) {
      i += src[i] === '\n' ? 1 : 2;
      line++;
      continue;
    }
    while (!endOfRecord) {
      let cell = '';
      if (src[i] === '"') {
        i++;
        for (;;) {
          if (i >= src.length) throw new ImportFormatError('a quoted cell is not closed (missing ")', start);
          const c = src[i]!;
          if (c === '"') {
            if (src[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        if (i < src.length && src[i] !== ',' && src[i] !== '\n' && !src.startsWith('\r\n', i)) {
          throw new ImportFormatError('a closing quote must end its cell (a comma or a line break expected)', line);
        }
      } else {
        while (i < src.length && src[i] !== ',' && src[i] !== '\n' && !src.startsWith('\r\n', i)) {
          if (src[i] === '"')
            throw new ImportFormatError(
              'a quote inside an unquoted cell (quote the whole cell and double the quote)',
              line,
            );
          cell += src[i];
          i++;
        }
      }
      cells.push(cell);
      if (i >= src.length) endOfRecord = true;
      else if (src[i] === ',') i++;
      else {
        i += src[i] === '\n' ? 1 : 2;
        line++;
        endOfRecord = true;
      }
    }
    records.push({ line: start, cells });
  }
  return records;
}

/** One CSV line (without its line break), quoting the cells that need it. */
export function csvLine(cells: readonly string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');
}

/** A whole CSV file: lines joined by \n, with a final line break. */
export function csvText(rows: readonly (readonly string[])[]): string {
  return rows.map(csvLine).join('\n') + '\n';
}
