// Lines of a document gathered into flat pieces of ~64k characters, each piece its
// lines joined by ',\n': the pieces joined by ',\n' are the lines joined by ',\n'.
// Why: at 10k Services the render writes ~600k lines (74 MB). Kept as separate
// strings until the end, every line (a small cons string) survived each young-
// generation GC and was copied out of it; a piece is one flat string, and its lines
// die young. What a young GC copies is mostly the lines still pending (one batch per
// section of every table, ~100 of them at 10k Services): so pieces are small, 8k
// characters (at 10k x 10, 2k-8k pieces took ~0.85x the CPU of 64k ones: README.md).
//
// A line can also be given in parts (`open`, `put`..., then `close`): the parts go into
// the piece as they are, so the hot writers (dnat-text.ts, endpoint-traffic-text.ts)
// never make the line itself. A template literal of several strings is a tree of cons
// strings, allocated, then walked to be flattened when the piece is joined; strings
// that are flat already are copied straight. Pure.

/** Characters after which the pending lines become one piece. */
const PIECE_CHARS = 1 << 13;

/** What a line writer needs: whole lines, or a line in parts. */
export interface PartSink {
  push(line: string): void;
  /** Starts a line; `put` its parts, then `close` it. */
  open(): void;
  put(part: string): void;
  close(): void;
}

export class LinePieces implements PartSink {
  readonly pieces: string[] = [];
  /** The pending lines' parts, with ',\n' before every line but the first. */
  private parts: string[] = [];
  private chars = 0;

  push(line: string): void {
    this.open();
    this.put(line);
    this.close();
  }

  open(): void {
    if (this.parts.length > 0) this.parts.push(',\n');
  }

  put(part: string): void {
    this.parts.push(part);
    this.chars += part.length;
  }

  close(): void {
    if (this.chars >= PIECE_CHARS) this.flush();
  }

  /** Every line pushed so far, as pieces (the pending lines made one). */
  done(): readonly string[] {
    this.flush();
    return this.pieces;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.pieces.push(this.parts.join(''));
    this.parts = [];
    this.chars = 0;
  }
}
