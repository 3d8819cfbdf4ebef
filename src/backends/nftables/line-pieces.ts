// Lines of a document gathered into flat pieces of ~64k characters, each piece its
// lines joined by ',\n': the pieces joined by ',\n' are the lines joined by ',\n'.
// Why: at 10k Services the render writes ~600k lines (74 MB). Kept as separate
// strings until the end, every line (a small cons string) survived each young-
// generation GC and was copied out of it; a piece is one flat string, big enough to
// sit in V8's large-object space (never copied), and its lines die young. Pure.

/** Characters after which the pending lines become one piece. */
const PIECE_CHARS = 1 << 16;

export class LinePieces {
  readonly pieces: string[] = [];
  private pending: string[] = [];
  private chars = 0;

  push(line: string): void {
    this.pending.push(line);
    this.chars += line.length;
    if (this.chars >= PIECE_CHARS) this.flush();
  }

  /** Every line pushed so far, as pieces (the pending lines made one). */
  done(): readonly string[] {
    this.flush();
    return this.pieces;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.pieces.push(this.pending.join(',\n'));
    this.pending = [];
    this.chars = 0;
  }
}
