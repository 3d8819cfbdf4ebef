// LineSplitter: whatever the cuts between pieces, the lines are the text's lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from '../../src/exec/lines.js';

test('lines come out the same however the text is cut into pieces', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n', 'é') }), { maxLength: 20 }), (pieces) => {
      const text = pieces.join('');
      const got: string[] = [];
      const s = new LineSplitter((l) => got.push(l));
      for (const p of pieces) s.push(p);
      s.end();
      const want = text.split('\n');
      if (want.at(-1) === '') want.pop(); // a final newline ends the last line; it starts none
      assert.deepEqual(got, want);
    }),
  );
});
