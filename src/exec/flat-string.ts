// A string kept for the agent's life, flat. A template such as `${ino}:${size}:${mtime}`
// is a tree of concatenations (V8's cons strings): ~105 bytes for a file's version,
// against ~48 flat. The agent keeps one such version per file twice (the file watch's
// fingerprint, the endpoint files' cache): at 44k files ~2.4 MB each (issue 16 §1,
// src/agent/README.md "Memory").
//
// And a part of a tool's output kept past its line: each line a LineSplitter (lines.ts)
// gives is a slice of the pipe's chunk, and a label or an address cut from it (slice,
// a regex's match) is a slice too, which keeps the whole chunk alive. A scrape of the
// traffic counters at 10k Services x 10 kept sums per endpoint this way and held most of
// a 48 MB `iptables-save` through them (src/agent/README.md, "Session 20").

/** `s` as one flat string (JSON's parse makes a new sequential string of it). */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * flatString once per distinct value: a reader's sums name the same namespace, protocol and
 * Service many times (packets and bytes of each port, each endpoint of a Service), and one
 * flat copy serves them all. Lives as long as the reader that keeps it (one read).
 */
export class FlatStrings {
  private readonly seen = new Map<string, string>();

  of(s: string): string {
    let flat = this.seen.get(s);
    if (flat === undefined) {
      flat = flatString(s);
      this.seen.set(flat, flat);
    }
    return flat;
  }
}
