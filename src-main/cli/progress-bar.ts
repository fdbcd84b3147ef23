// ProgressEvents on stderr: a bar redrawn in place on a terminal, plain lines (one per 10 %
// step) when stderr is a file or a pipe, so logs stay readable.
import type { ProgressEvent } from '../../src-shared/domain.js';

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export interface ProgressBar {
  update(event: ProgressEvent): void;
  /** Ends an open terminal line so the next output starts on its own line. */
  finish(): void;
}

function percent(event: ProgressEvent): number | null {
  return event.total > 0 ? Math.min(100, Math.floor((100 * event.done) / event.total)) : null;
}

function describe(event: ProgressEvent): string {
  const count = event.total > 0 ? `${event.done}/${event.total}` : `${event.done}`;
  const pct = percent(event);
  return `${event.task} ${count}${pct === null ? '' : ` (${pct}%)`}${event.message ? ` ${event.message}` : ''}`;
}

export function createProgressBar(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): ProgressBar {
  return stream.isTTY ? terminalBar(stream) : plainLines(stream);
}

function terminalBar(stream: NodeJS.WritableStream & { columns?: number }): ProgressBar {
  let open = false;
  let lastDraw = 0;
  let lastTask = '';
  return {
    update(event) {
      const complete = event.total > 0 && event.done >= event.total;
      const now = Date.now();
      if (event.task === lastTask && !complete && now - lastDraw < REDRAW_MS) return;
      if (open && event.task !== lastTask) stream.write('\n');
      const filled = event.total > 0 ? Math.round((BAR_WIDTH * Math.min(event.done, event.total)) / event.total) : 0;
      const bar = event.total > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
      const line = `${bar}${describe(event)}`.slice(0, Math.max(20, (stream.columns ?? 80) - 1));
      stream.write(`\r\x1b[2K${line}`);
      open = !complete;
      if (complete) stream.write('\n');
      lastDraw = now;
      lastTask = event.task;
    },
    finish() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}

function plainLines(stream: NodeJS.WritableStream): ProgressBar {
  let lastKey = '';
  return {
    update(event) {
      // One line per task and 10 % step (per 100 items when the total is unknown).
      const pct = percent(event);
      const step = pct === null ? Math.floor(event.done / 100) : Math.floor(pct / 10);
      const key = `${event.task}\0${step}`;
      if (key === lastKey) return;
      lastKey = key;
      stream.write(`${describe(event)}\n`);
    },
    finish() {},
  };
}
