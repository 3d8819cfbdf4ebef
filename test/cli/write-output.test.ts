// writeOutput: the output written in slices is the same text, byte for byte, also when a
// slice boundary falls inside a surrogate pair (one write of half a pair would be
// encoded as U+FFFD).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeOutput, writePieces, type ByteSink } from '../../src/cli/write-output.js';

function written(text: string, sliceChars: number): { bytes: Buffer; writes: string[] } {
  const writes: string[] = [];
  writeOutput(text, { write: (c: string) => writes.push(c) }, sliceChars);
  // Each write is encoded on its own, as a stream does.
  return { bytes: Buffer.concat(writes.map((w) => Buffer.from(w, 'utf8'))), writes };
}

/** A stream that takes each write whole at once (writableLength 0): keeps a copy, and the buffers it was handed. */
function copyingSink(): { sink: ByteSink; copies: Buffer[]; buffers: Set<ArrayBufferLike> } {
  const copies: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const sink: ByteSink = {
    writableLength: 0,
    write: (c) => {
      copies.push(Buffer.from(c));
      buffers.add(c.buffer);
    },
  };
  return { sink, copies, buffers };
}

/** A stream that keeps each chunk without copying it, and says it still holds them: a reused buffer would overwrite them. */
function holdingSink(): { sink: ByteSink; held: Uint8Array[] } {
  const held: Uint8Array[] = [];
  const sink: ByteSink = {
    get writableLength() {
      return held.reduce((n, c) => n + c.length, 0);
    },
    write: (c) => held.push(c),
  };
  return { sink, held };
}

describe('writeOutput', () => {
  it('writes a short text in one write', () => {
    const { writes } = written('table ip svcplane {}\n', 64);
    assert.deepEqual(writes, ['table ip svcplane {}\n']);
  });

  it('writes a long text in slices that join to the same bytes', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `-A SVP-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -j SVP-SVC-${i}`).join('\n') + '\n';
    const { bytes, writes } = written(text, 4096);
    assert.ok(writes.length > 1);
    assert.ok(writes.every((w) => w.length <= 4097));
    assert.deepEqual(bytes, Buffer.from(text, 'utf8'));
  });

  it('never splits a surrogate pair across two writes', () => {
    // The pair "😀" starts at every offset around the boundary in turn.
    for (let pad = 0; pad < 4; pad++) {
      const text = `${'x'.repeat(6 + pad)}😀${'y'.repeat(10)}😀z`;
      const { bytes } = written(text, 8);
      assert.deepEqual(bytes, Buffer.from(text, 'utf8'), `pad ${pad}`);
    }
  });

  it('writes a stream the same bytes, through one reused buffer while each write completes', () => {
    const text = `${'ä'.repeat(3000)}😀${'-A SVP-SERVICES -j SVP-SVC-1\n'.repeat(400)}😀`;
    const { sink, copies, buffers } = copyingSink();
    writeOutput(text, sink, 1000);
    assert.ok(copies.length > 5);
    assert.deepEqual(Buffer.concat(copies), Buffer.from(text, 'utf8'));
    assert.equal(buffers.size, 1);
  });

  it('gives a stream that still holds a write a new buffer for the next', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i} ü`).join('\n');
    const { sink, held } = holdingSink();
    writeOutput(text, sink, 700);
    assert.ok(held.length > 5);
    assert.deepEqual(Buffer.concat(held), Buffer.from(text, 'utf8'));
  });
});

describe('writePieces', () => {
  // Small pieces, a multi-byte one, empty ones, and one larger than a slice (written in slices).
  const pieces = ['{"nftables": [\n', '', ...Array.from({ length: 300 }, (_, i) => `{"add": {"rule": ${i}}},\n`), 'ä😀'.repeat(700), '', 'x'.repeat(5000), ']}\n'];
  const whole = Buffer.from(pieces.join(''), 'utf8');

  it('writes a stream the bytes of the pieces joined, in few writes through one reused buffer', () => {
    const { sink, copies, buffers } = copyingSink();
    writePieces(pieces, sink, 1000);
    assert.deepEqual(Buffer.concat(copies), whole);
    // One buffer for all the gathered pieces, and writeOutput's one for each piece larger than a slice.
    assert.equal(buffers.size, 1 + pieces.filter((p) => p.length > 1000).length);
    assert.ok(copies.length < pieces.length / 4, `${copies.length} writes for ${pieces.length} pieces`);
    assert.ok(copies.every((c) => c.length <= 3 * 1001));
  });

  it('gives a stream that still holds a write a new buffer for the next', () => {
    const { sink, held } = holdingSink();
    writePieces(pieces, sink, 1000);
    assert.ok(held.length > 3);
    assert.deepEqual(Buffer.concat(held), whole);
  });

  it('writes a text sink the same text', () => {
    const writes: string[] = [];
    writePieces(pieces, { write: (c: string) => writes.push(c) }, 1000);
    assert.deepEqual(Buffer.from(writes.join(''), 'utf8'), whole);
    assert.ok(writes.every((w) => w.length > 0), 'no empty write');
  });
});
