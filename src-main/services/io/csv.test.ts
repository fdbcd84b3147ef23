import { describe, expect, it } from 'vitest';
import { csvLine, csvText, readCsv } from './csv.js';
import { ImportFormatError } from './labelSet.js';

describe('readCsv', () => {
  it('splits cells and keeps the line each record starts on', () => {
    const text = 'a,b,c\n\n1,,3\r\nx,"y, with comma","say ""hi"""\n"multi\nline",2,3\nlast,,';
    expect(readCsv(text)).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 3, cells: ['1', '', '3'] },
      { line: 4, cells: ['x', 'y, with comma', 'say "hi"'] },
      { line: 5, cells: ['multi\nline', '2', '3'] },
      { line: 7, cells: ['last', '', ''] },
    ]);
  });

  it('ignores a byte-order mark and a final line break', () => {
    expect(readCsv('\ufeffimage,x\nimg.png,1\n')).toEqual([
      { line: 1, cells: ['image', 'x'] },
      { line: 2, cells: ['img.png', '1'] },
    ]);
  });

  it('names the line of an unclosed quote and of a stray quote', () => {
    expect(() => readCsv('a,b\n"open,1\n2,3')).toThrow(/line 2: a quoted cell is not closed/);
    expect(() => readCsv('a,b\nab"c,1')).toThrow(/line 2: a quote inside an unquoted cell/);
    expect(() => readCsv('a\n\n"x"y,1')).toThrow(ImportFormatError);
    expect(() => readCsv('a\n\n"x"y,1')).toThrow(/line 3: a closing quote must end its cell/);
  });
});

describe('csvLine / csvText', () => {
  it('quotes only cells that need it and reads back the same cells', () => {
    const cells = ['plain', 'with,comma', 'with "quote"', 'two\nlines', 'ünïcødé 🐭', ''];
    expect(csvLine(cells)).toBe('plain,"with,comma","with ""quote""","two\nlines",ünïcødé 🐭,');
    expect(readCsv(csvText([cells, ['a']])).map((r) => r.cells)).toEqual([cells, ['a']]);
  });
});
