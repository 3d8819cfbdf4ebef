// Text that arrives in pieces, cut anywhere (a tool's stdout as the pipe delivers it),
// handed on a line at a time: for a reader that must not hold a tool's whole output
// (iptables-save of a 10k-Service table is ~48 MB). Pure.

/**
 * Calls `fn` with each line (without its newline) of the text pushed, in order. A line is
 * a slice of the piece it came in: one kept keeps that piece (~64 kB) alive.
 */
export class LineSplitter {
  private rest = '';
  constructor(private readonly fn: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    let at = 0;
    for (let eol = text.indexOf('\n'); eol >= 0; eol = text.indexOf('\n', at)) {
      this.fn(text.slice(at, eol));
      at = eol + 1;
    }
    this.rest = text.slice(at);
  }

  /** The text after the last newline, as a last line (when there is any). */
  end(): void {
    if (this.rest !== '') this.fn(this.rest);
    this.rest = '';
  }
}
