// writeOutput: the output written in slices is the same text, byte for byte, also when a
// slice boundary falls inside a surrogate pair (one write of half a pair would be
// encoded as U+FFFD).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeOutput } from '../../src/cli/write-output.js';

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
});
