import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainOfRule, keptShared, sharedList } from '../../../src/backends/iptables/kept-fragment.js';
import { OneRule } from '../../../src/backends/iptables/packed-chains.js';
import type { IptChain } from '../../../src/backends/iptables/render.js';

const RULE = '-A SVP-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/a:80/TCP cluster IP" -m tcp --dport 80 -j SVP-SVC-X';

describe('iptables kept fragment: a lone shared rule as its line', () => {
  it('reads the chain off the line, returning the guess itself only when it is the whole name', () => {
    assert.equal(chainOfRule(RULE), 'SVP-SERVICES');
    const guess = ['SVP', 'SERVICES'].join('-');
    assert.equal(chainOfRule(RULE, guess), guess);
    // A guess that is only the start of the name is not the chain.
    assert.equal(chainOfRule('-A SVP-SERVICES-2 -j ACCEPT', 'SVP-SERVICES'), 'SVP-SERVICES-2');
    assert.equal(chainOfRule(RULE, 'SVP-NODEPORTS'), 'SVP-SERVICES');
    assert.equal(chainOfRule('-A SVP-NODEPORTS'), 'SVP-NODEPORTS');
  });

  it('keeps a lone OneRule as its line and reads it back as a chain of that rule', () => {
    const kept = keptShared([new OneRule('SVP-SERVICES', RULE)]);
    assert.equal(kept, RULE);
    const back = sharedList(kept);
    assert.equal(back.length, 1);
    assert.ok(back[0] instanceof OneRule);
    assert.deepEqual({ name: back[0]!.name, rules: back[0]!.rules }, { name: 'SVP-SERVICES', rules: [RULE] });
  });

  it('keeps as they are a list of several, a chain object that is not a OneRule, and a line that does not name its chain', () => {
    const two: IptChain[] = [new OneRule('SVP-SERVICES', RULE), new OneRule('SVP-NODEPORTS', '-A SVP-NODEPORTS -j SVP-EXT-X')];
    assert.equal(keptShared(two), two);
    const plain: IptChain[] = [{ name: 'SVP-SERVICES', rules: [RULE] }];
    assert.equal(keptShared(plain), plain);
    const elsewhere: IptChain[] = [new OneRule('SVP-NODEPORTS', RULE)];
    assert.equal(keptShared(elsewhere), elsewhere);
    assert.equal(sharedList(elsewhere), elsewhere);
  });
});
