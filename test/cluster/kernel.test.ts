// The cluster bench's kernel check reads forwarding, not mentions: a removed endpoint may stay
// a while in nftables' counter-only sets (pending-deletes.ts) after it left every DNAT rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textDnatsTo } from './kernel.js';

// Lines as `nft list ruleset` and `iptables-save` print them in a testbed node.
const NFT = [
  '\t\tnumgen random mod 2 0 meta l4proto tcp counter packets 0 bytes 0 dnat to 10.244.8.11:80 comment "10.244.8.11:80"',
  '\t\tmeta l4proto tcp counter packets 0 bytes 0 dnat ip to 10.244.9.10:80',
  '\t\tmeta l4proto tcp counter packets 0 bytes 0 dnat ip6 to [fd00:10:244::5]:80',
  '\t\telements = { 10.244.12.250 . tcp . 80 counter packets 0 bytes 0 comment "default/svc-125:http" }',
].join('\n');
const IPT = [
  '-A SVP-SEP-ABC -p tcp -m comment --comment default/svc:http -j DNAT --to-destination 10.244.1.10:80',
  '-A SVP-SEP-DEF -s 10.244.7.7/32 -m comment --comment default/svc:http -j SVP-MARK-MASQ',
].join('\n');

describe('textDnatsTo', () => {
  it('finds an endpoint in an nftables DNAT rule, in every family form', () => {
    assert.equal(textDnatsTo(NFT, 'nftables', '10.244.8.11'), true);
    assert.equal(textDnatsTo(NFT, 'nftables', '10.244.9.10'), true);
    assert.equal(textDnatsTo(NFT, 'nftables', 'fd00:10:244::5'), true);
  });

  it('does not take a counter set element or a longer address for a DNAT rule', () => {
    assert.equal(textDnatsTo(NFT, 'nftables', '10.244.12.250'), false);
    assert.equal(textDnatsTo(NFT, 'nftables', '10.244.8.1'), false);
    assert.equal(textDnatsTo(NFT, 'nftables', '10.244.9.1'), false);
  });

  it('reads iptables-save: the DNAT target, not a source match', () => {
    assert.equal(textDnatsTo(IPT, 'iptables', '10.244.1.10'), true);
    assert.equal(textDnatsTo(IPT, 'iptables', '10.244.7.7'), false);
    assert.equal(textDnatsTo(IPT, 'iptables', '10.244.1.1'), false);
  });
});
