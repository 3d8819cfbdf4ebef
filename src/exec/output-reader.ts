// A child's stdout or stderr read as text as it arrives: collected whole (with a cap), or
// handed on piece by piece. The exec layer reads the output itself rather than letting
// execa buffer it (system-exec.ts says why: execa's buffering allocates ~65 kB per run).

import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** A limit on the characters collected from one run's streams together. */
export class OutputCap {
  private used = 0;
  /** Why the run failed, once the limit was passed. */
  exceeded: string | undefined;
  constructor(
    private readonly limit: number,
    private readonly onExceeded: () => void,
  ) {}

  /** Counts `n` more characters; false (and the tool is stopped, once) when past the limit. */
  take(n: number): boolean {
    this.used += n;
    if (this.used <= this.limit) return true;
    if (this.exceeded === undefined) {
      this.exceeded = `output over ${this.limit} characters`;
      this.onExceeded();
    }
    return false;
  }
}

/** Where streamed output goes: pieces in order, then the end. */
export interface TextSink {
  push(text: string): void;
  end(): void;
}

/**
 * The stream's text, whole, once it has ended (or failed: what arrived until then). A
 * stream that never started (the tool could not be spawned) gives ''. Pieces past the cap
 * are dropped.
 */
export function collectOutput(stream: Readable | null | undefined, cap: OutputCap): Promise<string> {
  if (!stream) return Promise.resolve('');
  const pieces: string[] = [];
  stream.setEncoding('utf8'); // a character cut between two chunks is decoded whole
  stream.on('data', (piece: string) => {
    if (cap.take(piece.length)) pieces.push(piece);
  });
  const text = () => pieces.join('');
  return finished(stream).then(text, text);
}

/** Hands the stream's text to `sink` as it arrives; resolves once all of it was handed over. */
export async function streamOutput(stream: Readable | null | undefined, sink: TextSink): Promise<string> {
  if (!stream) return '';
  stream.setEncoding('utf8');
  stream.on('data', (piece: string) => sink.push(piece));
  // Everything handed over before the run resolves; a tool that never started has no end.
  await finished(stream).then(
    () => sink.end(),
    () => undefined,
  );
  return '';
}

/** Without one final newline (`\n` or `\r\n`), as execa gives output. */
export function stripFinalNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
