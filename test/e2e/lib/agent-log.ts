// The agent's log (pino JSON on stderr), kept as lines as they come.

import type { NetnsProcess } from './netns.js';

/** Appends each complete stderr line of `child` to `lines`; `flush()` adds a last partial line. */
export function collectStderrLines(child: NetnsProcess, lines: string[]): { flush(): void } {
  let buf = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  return {
    flush() {
      if (buf) lines.push(buf);
      buf = '';
    },
  };
}
