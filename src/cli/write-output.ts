// A command's whole output (a ruleset, a plan) onto a stream, in slices.
//
// Why: `svcplane render -f` of 10k Services × 10 endpoints prints 48 MB (iptables) to
// 74 MB (nftables) of text. Written as one string, the stream first encodes all of it
// into one buffer of that size (page faults, system time, and that much more peak
// RSS) before a single byte goes out. A slice of a flat string costs no copy, and each
// slice's buffer is small and short-lived. process.stdout is synchronous for files,
// pipes and terminals on Linux, so nothing queues up behind a slow reader.

/** Characters per write: large enough that per-call overhead is nothing, small enough that its buffer is. */
export const OUTPUT_SLICE_CHARS = 1 << 20;

export interface TextSink {
  write(chunk: string): unknown;
}

/** Writes `text` to `out` in slices of about `sliceChars`, never between the two halves of a surrogate pair. */
export function writeOutput(text: string, out: TextSink = process.stdout, sliceChars = OUTPUT_SLICE_CHARS): void {
  if (text.length <= sliceChars) {
    out.write(text);
    return;
  }
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + sliceChars, text.length);
    // A slice ending on a high surrogate would be encoded as U+FFFD: keep the pair together.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    out.write(text.slice(i, end));
    i = end;
  }
}
