// The agent's log (pino JSON on stderr), kept as lines as they come.

import type { NetnsProcess } from './netns.js';

/**
 * Appends each complete stderr line of `child` to `lines` (and hands it to `onLine`);
 * `flush()` adds a last partial line. With `maxLines`, the oldest fifth is dropped whenever the list grows past it (a
 * long-running agent's log must not grow without bound).
 */
export function collectStderrLines(
  child: NetnsProcess,
  lines: string[],
  maxLines?: number,
  onLine: (line: string) => void = () => {},
): { flush(): void } {
  let buf = '';
  const add = (parts: readonly string[]) => {
    lines.push(...parts);
    for (const l of parts) onLine(l);
    if (maxLines !== undefined && lines.length > maxLines) lines.splice(0, Math.ceil(maxLines / 5));
  };
  child.stderr.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    add(parts);
  });
  return {
    flush() {
      if (buf) add([buf]);
      buf = '';
    },
  };
}
