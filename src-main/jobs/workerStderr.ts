// A job worker's stderr as the user sees it: passed through line by line, less the notices
// libtensorflow prints that no setting hides.

/**
 * With oneDNN on (ml/engine.ts sets TF_ENABLE_ONEDNN_OPTS=1), libtensorflow logs an INFO notice
 * through absl while it loads, before absl::InitializeLog(), and absl writes such early messages
 * to stderr whatever TF_CPP_MIN_LOG_LEVEL says (abseil-cpp#1718). Hiding them by setting
 * TF_ENABLE_ONEDNN_OPTS=0 would turn oneDNN off, so the runner drops these exact lines instead.
 */
export const TENSORFLOW_NOTICES: readonly RegExp[] = [
  /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$/,
  /^I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\./,
];

export interface LineFilter {
  /** Text as it arrives (any split); whole lines not matched by `drop` go to `write`. */
  push(text: string): void;
  /** Passes on a last line that had no newline (when the stream ends). */
  flush(): void;
}

export function filterLines(drop: readonly RegExp[], write: (text: string) => void): LineFilter {
  let partial = '';
  const keep = (line: string): boolean => !drop.some((pattern) => pattern.test(line.replace(/\r$/, '')));
  return {
    push(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      const kept = lines.filter(keep);
      if (kept.length > 0) write(kept.map((line) => `${line}\n`).join(''));
    },
    flush() {
      if (partial && keep(partial)) write(partial);
      partial = '';
    },
  };
}
