// The agent's log (pino JSON on stderr), kept as lines as they come.

import type { NetnsProcess } from './netns.js';

/**
 * Appends each complete stderr line of `child` to `lines`; `flush()` adds a last partial
 * line. With `maxLines`, the oldest fifth is dropped whenever the list grows past it (a
 * long-running agent's log must not grow without bound).
 */
export function collectStderrLines(child: NetnsProcess, lines: string[], maxLines?: number): { flush(): void } {
  let buf = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    if (maxLines !== undefined && lines.length > maxLines) lines.splice(0, Math.ceil(maxLines / 5));
  });
  return {
    flush() {
      if (buf) lines.push(buf);
      buf = '';
    },
  };
}
