// Lines handed to a tool's stdin file as pieces of text, each joined only when the file
// pulls it. Pure.
//
// A piece's size matters to the agent's peak memory: V8 allocates a string over 128 KiB as a
// large object, in the old generation, where it stays until the next full collection, not the
// next scavenge. Pieces of 2048 lines (~200 kB) at a first sync at 10k Services x 10
// endpoints (48 MB of restore input) left +46 MB of heap (+50 MB RSS) while they were written,
// against +3 MB with pieces of 256 lines (README.md, "Memory"): pieces stay below 64 K
// characters, young garbage.

/** Characters per piece: one-byte strings well below V8's 128 KiB large-object size. */
export const PIECE_CHARS = 64 * 1024;

/** `lines`, each ended by '\n', joined into pieces of about `pieceChars` characters (a longer line is a piece of its own). */
export function* linePieces(lines: Iterable<string>, pieceChars = PIECE_CHARS): Generator<string> {
  let piece: string[] = [];
  let chars = 0;
  for (const line of lines) {
    piece.push(line);
    chars += line.length + 1;
    if (chars >= pieceChars) {
      yield piece.join('\n') + '\n';
      piece = [];
      chars = 0;
    }
  }
  if (piece.length) yield piece.join('\n') + '\n';
}
