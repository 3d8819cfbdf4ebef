// Test helpers for the watch layer: a logger that records, waiting for a condition.

import type { WatchLogger } from '../../src/agent/watch/logger.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

export function recordingLogger(): WatchLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg: string) => {
    lines.push({ level, obj, msg });
    if (process.env.WATCH_TEST_LOG) console.error(level, msg, JSON.stringify(obj));
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * Polls `cond` until true, or fails after `timeoutMs` saying what it waited for. The default
 * is generous (a loaded machine runs these at a fraction of their usual speed): it only
 * matters when the condition never comes.
 */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
