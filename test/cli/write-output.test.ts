// writeOutput: the output written in slices is the same text, byte for byte, also when a
// slice boundary falls inside a surrogate pair (one write of half a pair would be
// encoded as U+FFFD).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeOutput, type ByteSink } from '../../src/cli/write-output.js';

function written(text: string, sliceChars: number): { bytes: Buffer; writes: string[] } {
  const writes: string[] = [];
  writeOutput(text, { write: (c: string) => writes.push(c) }, sliceChars);
  // Each write is encoded on its own, as a stream does.
  return { bytes: Buffer.concat(writes.map((w) => Buffer.from(w, 'utf8'))), writes };
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
    const copies: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    const sink: ByteSink = {
      writableLength: 0,
      write: (c) => {
        copies.push(Buffer.from(c));
        seen.add(c.buffer);
      },
    };
    writeOutput(text, sink, 1000);
    assert.ok(copies.length > 5);
    assert.deepEqual(Buffer.concat(copies), Buffer.from(text, 'utf8'));
    assert.equal(seen.size, 1);
  });

  it('gives a stream that still holds a write a new buffer for the next', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i} ü`).join('\n');
    // Keeps each chunk without copying it, and says so: a reused buffer would overwrite what it holds.
    const held: Uint8Array[] = [];
    const sink: ByteSink = {
      get writableLength() {
        return held.reduce((n, c) => n + c.length, 0);
      },
      write: (c) => held.push(c),
    };
    writeOutput(text, sink, 700);
    assert.ok(held.length > 5);
    assert.deepEqual(Buffer.concat(held), Buffer.from(text, 'utf8'));
  });
});
