// AddressSet (the text render's hairpin dedupe) answers as a Set of the address strings
// would: on random IPv4 and IPv6 addresses with repeats, through several growths of its table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AddressSet } from '../../../src/backends/nftables/address-set.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([a, b]) => `fd00:${a.toString(16)}::${b.toString(16)}`);

describe('AddressSet', () => {
  it('adds an address once, as a Set of strings does', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v4, v6), { maxLength: 3000 }), (fresh) => {
        // Repeats: every address again, in reverse, after the first pass.
        const all = [...fresh, ...[...fresh].reverse()];
        const ours = new AddressSet();
        const ref = new Set<string>();
        for (const ip of all) {
          const isNew = !ref.has(ip);
          ref.add(ip);
          assert.equal(ours.add(ip), isNew, ip);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('tells 0.0.0.0 and 255.255.255.255 from the others, and keeps 10^5 addresses', () => {
    const s = new AddressSet();
    assert.equal(s.add('0.0.0.0'), true);
    assert.equal(s.add('0.0.0.0'), false);
    assert.equal(s.add('255.255.255.255'), true);
    for (let i = 1; i <= 100_000; i++) assert.equal(s.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), true);
    for (let i = 1; i <= 100_000; i++) assert.equal(s.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), false);
    assert.equal(s.add('255.255.255.255'), false);
  });
});
