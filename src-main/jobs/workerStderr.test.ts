import { describe, expect, it } from 'vitest';
import { filterLines, TENSORFLOW_NOTICES } from './workerStderr.js';

// The two lines libtensorflow 2.21 printed when loaded with TF_ENABLE_ONEDNN_OPTS=1.
const ABSL_WARNING = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR';
const ONEDNN_NOTICE =
  'I0000 00:00:1795355455.456985   16331 port.cc:153] oneDNN custom operations are on. You may see slightly ' +
  'different numerical results due to floating-point round-off errors from different computation orders. To turn ' +
  'them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.';

function run(chunks: string[]): string {
  let out = '';
  const filter = filterLines(TENSORFLOW_NOTICES, (text) => (out += text));
  for (const chunk of chunks) filter.push(chunk);
  filter.flush();
  return out;
}

describe('filterLines with TENSORFLOW_NOTICES', () => {
  it("drops TensorFlow's oneDNN notice and absl's early-log warning, keeps everything else", () => {
    const text = `${ABSL_WARNING}\n${ONEDNN_NOTICE}\nout of memory\n  at train (train.ts:3)\n`;
    expect(run([text])).toBe('out of memory\n  at train (train.ts:3)\n');
  });

  it('recognises a notice split across chunks, and CRLF line ends', () => {
    const text = `${ABSL_WARNING}\r\n${ONEDNN_NOTICE}\nkept\n`;
    const chunks = [text.slice(0, 30), text.slice(30, 120), text.slice(120, 121), text.slice(121)];
    expect(run(chunks)).toBe('kept\n');
  });

  it('keeps other TensorFlow log lines and mentions of oneDNN that are not the notice', () => {
    const text =
      'E0000 00:00:1795355455.1 16331 cuda_dnn.cc:8] could not create cudnn handle\n' +
      'set TF_ENABLE_ONEDNN_OPTS=0 if oneDNN custom operations are on.\n';
    expect(run([text])).toBe(text);
  });

  it('passes on a last line without a newline when flushed, and nothing before', () => {
    let out = '';
    const filter = filterLines(TENSORFLOW_NOTICES, (text) => (out += text));
    filter.push('first\nhalf a li');
    expect(out).toBe('first\n');
    filter.push('ne');
    filter.flush();
    expect(out).toBe('first\nhalf a line');
  });
});
