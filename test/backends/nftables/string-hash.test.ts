// hash53: what the streamed read-back keeps of a desired element. It must spread texts
// that differ by one character (the elements of one set do) over the 53 bits.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash53 } from '../../../src/backends/nftables/string-hash.js';

describe('hash53', () => {
  it('is a whole number below 2^53, the same for the same text and seed, another for another seed', () => {
    for (const text of ['', 'a', '{"concat":["10.96.0.1","tcp",80]}\u0000', 'ü€😀']) {
      const h = hash53(text);
      assert.ok(Number.isSafeInteger(h) && h >= 0, `${text}: ${h}`);
      assert.equal(hash53(text), h);
      assert.notEqual(hash53(text, 12345), h);
    }
  });

  it('no two of 200k element texts of one set (addresses and ports one apart) meet, nor crowd in the high or low bits', () => {
    const seen = new Set<number>();
    const high = new Set<number>();
    const low = new Set<number>();
    for (let i = 0; i < 200_000; i++) {
      const text = `{"concat":["10.96.${(i >> 8) & 255}.${i & 255}","tcp",${80 + (i >> 16)}]}\u0000[null,"default/svc-${i}:80/TCP"]`;
      const h = hash53(text);
      seen.add(h);
      high.add(Math.floor(h / 2 ** 32));
      low.add(h % 2 ** 21);
    }
    assert.equal(seen.size, 200_000);
    // 200k draws of 2^21 values fill ~2^21 (1 - e^-0.095) = ~190k; of 2^21 high parts as many.
    assert.ok(high.size > 180_000, `high 21 bits: ${high.size} values`);
    assert.ok(low.size > 180_000, `low 21 bits: ${low.size} values`);
  });
});
