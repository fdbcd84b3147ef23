import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar } from './progress-bar.js';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 100 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe('progress bar', () => {
  it('prints one plain line per 10% step when not a terminal', () => {
    const { stream, text } = capture(false);
    const bar = createProgressBar(stream);
    for (let done = 0; done <= 200; done++) bar.update({ task: 'scan', done, total: 200 });
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('scan 0/200 (0%)');
    expect(lines[5]).toBe('scan 100/200 (50%)');
    expect(lines.at(-1)).toBe('scan 200/200 (100%)');
    expect(text()).not.toContain('\r');
  });

  it('starts a new line block for a new task and counts when the total is unknown', () => {
    const { stream, text } = capture(false);
    const bar = createProgressBar(stream);
    bar.update({ task: 'scan', done: 1, total: 1 });
    bar.update({ task: 'import', done: 5, total: 0, message: 'reading' });
    expect(text()).toBe('scan 1/1 (100%)\nimport 5 reading\n');
  });

  it('redraws in place on a terminal and ends the line when complete', () => {
    const { stream, text } = capture(true);
    const bar = createProgressBar(stream);
    bar.update({ task: 'scan', done: 0, total: 4 });
    bar.update({ task: 'scan', done: 4, total: 4, message: 'done' });
    const output = text();
    expect(output.startsWith('\r\x1b[2K[........................] scan 0/4 (0%)')).toBe(true);
    expect(output).toContain('\r\x1b[2K[########################] scan 4/4 (100%) done\n');
    bar.finish();
    expect(text()).toBe(output); // nothing left open
  });

  it('finishes an open terminal line before other output', () => {
    const { stream, text } = capture(true);
    const bar = createProgressBar(stream);
    bar.update({ task: 'scan', done: 1, total: 4 });
    bar.finish();
    expect(text().endsWith('scan 1/4 (25%)\n')).toBe(true);
  });
});
