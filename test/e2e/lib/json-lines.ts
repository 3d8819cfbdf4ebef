// Reading the JSON-lines output of our fixtures (echo server, probe) from a child process.

import readline from 'node:readline';
import type { NetnsProcess } from './netns.js';

/** Calls `onMessage` for every JSON line on the child's stdout; other lines go to `onOther`. */
export function onJsonLines(
  child: NetnsProcess,
  onMessage: (msg: Record<string, unknown>) => void,
  onOther: (line: string) => void = () => {},
): void {
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      onOther(line);
      return;
    }
    if (msg !== null && typeof msg === 'object' && !Array.isArray(msg)) onMessage(msg as Record<string, unknown>);
    else onOther(line);
  });
}

/** Keeps the last `limit` characters of the child's stderr, for error messages. */
export function tailStderr(child: NetnsProcess, limit = 4000): () => string {
  let tail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-limit);
  });
  return () => tail.trim();
}

/**
 * Resolves with the first message that has `ready: true`; rejects if the child exits or
 * `timeoutMs` passes first, quoting its stderr.
 */
export function waitReady(
  child: NetnsProcess,
  what: string,
  stderr: () => string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms. stderr: ${stderr()}`)));
    }, timeoutMs);
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    onJsonLines(child, (msg) => {
      if (msg.ready === true) settle(() => resolve(msg));
    });
    void child.then((res) => {
      settle(() =>
        reject(new Error(`${what}: exited before ready (exit ${res.exitCode ?? res.signal}). stderr: ${stderr()}`)),
      );
    });
  });
}
