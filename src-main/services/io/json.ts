// Reading JSON label files: syntax errors name their line, shape errors the JSON path.
import type { CropBox } from '../../../src-shared/domain.js';
import { describeValue, formatError, ImportFormatError } from './labelSet.js';

/**
 * Offset of the first syntax error in text that JSON.parse refused (V8's messages do not always
 * give one): a recursive-descent walk over the JSON grammar.
 */
function syntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => (text.startsWith(word, i) ? (i += word.length) : fail());
  const number = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const string = () => {
    i++;
    for (;;) {
      if (i >= text.length || text.charCodeAt(i) < 0x20) fail();
      const c = text[i]!;
      if (c === '"') return i++;
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
  };
  const list = (close: string, entry: () => void) => {
    i++;
    ws();
    if (text[i] === close) return i++;
    for (;;) {
      entry();
      ws();
      if (text[i] === close) return i++;
      if (text[i] !== ',') fail();
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      list('}', () => {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    } else if (c === '[') list(']', value);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else {
      number.lastIndex = i;
      if (!number.test(text)) fail();
      i = number.lastIndex;
    }
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (offset) {
    return offset as number;
  }
}

/**
 * Parses JSON text; a syntax error names its line and column. The parser's own message is not
 * passed on: it quotes the text, and the file may be anything but a label file.
 */
export function readJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const offset = syntaxErrorOffset(text);
    const before = text.slice(0, offset).split('\n');
    const column = before.at(-1)!.length + 1;
    const what =
      offset >= text.length ? 'the text ends inside a value' : 'a JSON value, comma, colon or bracket expected here';
    throw new ImportFormatError(`not valid JSON (column ${column}: ${what})`, before.length);
  }
}

/** The JSON object at `field`, or an ImportFormatError saying what was found instead. */
export function jsonObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw formatError(`must be an object, found ${describeValue(value)}`, { field });
  }
  return value as Record<string, unknown>;
}

/** The JSON array at `field`, or an ImportFormatError saying what was found instead. */
export function jsonArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw formatError(`must be an array, found ${describeValue(value)}`, { field });
  return value;
}

/** An [x, y, width, height] box (COCO bbox, labels.json bbox); null when absent. */
export function jsonBox(raw: unknown, field: string): CropBox | null {
  if (raw === undefined || raw === null) return null;
  const b = jsonArray(raw, field);
  if (b.length !== 4 || b.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw formatError(`must be [x, y, width, height] numbers, found ${describeValue(raw)}`, { field });
  }
  const [x, y, w, h] = b as [number, number, number, number];
  if (w < 0 || h < 0) throw formatError('width and height must not be negative', { field });
  return { x, y, w, h };
}
