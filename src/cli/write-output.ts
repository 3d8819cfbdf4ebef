// A command's whole output (a ruleset, a plan) onto a stream, in slices.
//
// Why: `svcplane render -f` of 10k Services × 10 endpoints prints 48 MB (iptables) to
// 74 MB (nftables) of text. Written as one string, the stream first encodes all of it
// into one buffer of that size (page faults, system time, and that much more peak
// RSS) before a single byte goes out. A slice of a flat string costs no copy, and each
// slice's buffer is small and short-lived. process.stdout is synchronous for files,
// pipes and terminals on Linux, so nothing queues up behind a slow reader.
//
// A stream (one with `writableLength`, as process.stdout) gets bytes, each slice encoded
// into one buffer that is reused while the stream has taken every write whole: written
// as strings, each slice was encoded into a fresh megabyte-sized buffer (its own mmap:
// at 74 MB, 74 rounds of page faults; a CPU profile of `render -f` had that encoding at
// 13 % of the command, src/backends/nftables/README.md "Session 17").

/** Characters per write: large enough that per-call overhead is nothing, small enough that its buffer is. */
export const OUTPUT_SLICE_CHARS = 1 << 20;

export interface TextSink {
  write(chunk: string): unknown;
}

/** A stream that takes bytes and says what it still holds (a Writable: process.stdout). */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
  /** Bytes written but not yet handed on: 0 once a write has completed synchronously. */
  readonly writableLength: number;
}

/** `text` cut into slices of about `sliceChars`, never between the two halves of a surrogate pair. */
function* slices(text: string, sliceChars: number): Generator<string> {
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + sliceChars, text.length);
    // A slice ending on a high surrogate would be encoded as U+FFFD: keep the pair together.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    yield text.slice(i, end);
    i = end;
  }
}

function isByteSink(out: TextSink | ByteSink): out is ByteSink {
  return typeof (out as Partial<ByteSink>).writableLength === 'number';
}

/**
 * Text encoded into one buffer of `3 * (sliceChars + 1)` bytes (UTF-8 takes at most 3 bytes per
 * UTF-16 unit, and a slice is at most sliceChars + 1 units), written when full or flushed, and
 * reused while the stream takes every write whole.
 */
class ReusedBuffer {
  private readonly size: number;
  private buf: Buffer;
  private used = 0;

  constructor(
    private readonly out: ByteSink,
    sliceChars: number,
  ) {
    this.size = 3 * (sliceChars + 1);
    this.buf = Buffer.allocUnsafe(this.size);
  }

  /** Appends `text` (at most sliceChars + 1 units), writing out what was gathered first if it might not fit. */
  add(text: string): void {
    if (this.used + 3 * text.length > this.size) this.flush();
    this.used += this.buf.write(text, this.used, this.size - this.used, 'utf8');
  }

  flush(): void {
    if (this.used === 0) return;
    this.out.write(this.buf.subarray(0, this.used));
    this.used = 0;
    // The stream still holds these bytes (an asynchronous write): the next ones need a buffer of their own.
    if (this.out.writableLength > 0) this.buf = Buffer.allocUnsafe(this.size);
  }
}

/** Writes `text` to `out` in slices of about `sliceChars` characters (as UTF-8 bytes to a stream). */
export function writeOutput(text: string, out: TextSink | ByteSink = process.stdout, sliceChars = OUTPUT_SLICE_CHARS): void {
  if (text.length <= sliceChars) {
    (out as TextSink).write(text);
    return;
  }
  if (!isByteSink(out)) {
    for (const s of slices(text, sliceChars)) out.write(s);
    return;
  }
  const buf = new ReusedBuffer(out, sliceChars);
  for (const s of slices(text, sliceChars)) {
    buf.add(s);
    buf.flush();
  }
}

/**
 * Writes `pieces` in turn, as if joined: a document handed out in pieces (Backend.renderPieces)
 * is never copied into one string. To a stream, small pieces are gathered into one reused
 * buffer of about `sliceChars` characters' bytes and written when it is full; a piece larger
 * than that goes through writeOutput (in slices). Each piece is encoded whole, so a surrogate
 * pair is never split unless a piece itself splits it.
 */
export function writePieces(pieces: readonly string[], out: TextSink | ByteSink = process.stdout, sliceChars = OUTPUT_SLICE_CHARS): void {
  if (!isByteSink(out)) {
    for (const p of pieces) if (p.length) writeOutput(p, out, sliceChars);
    return;
  }
  const buf = new ReusedBuffer(out, sliceChars);
  for (const p of pieces) {
    if (p.length > sliceChars) {
      buf.flush();
      writeOutput(p, out, sliceChars);
    } else buf.add(p);
  }
  buf.flush();
}
