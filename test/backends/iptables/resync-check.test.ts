// The resync's cheap check, pure: when a full sync must read everything back, and what
// each cheap reading (nft's chain names, one chain's `iptables -S`, `ipset list -t`) says
// against the syncer's memory of what it wrote.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChainNamesCheck,
  ChainNamesDigest,
  chainDisagreement,
  chainsToCompare,
  ipsetDisagreements,
  NameDigest,
  natChainsOf,
  parseIpsetCounts,
  readBackReason,
  SKELETON_NAT_CHAINS,
  type NatMemory,
} from '../../../src/backends/iptables/resync-check.js';
import type { IPFamily } from '../../../src/model/ip.js';

describe('readBackReason: when a full sync reads everything back', () => {
  const trusted = { forgotten: undefined, preserved: 0, resyncsSinceReadBack: 0, readBackEvery: 10 } as const;
  it('not while the syncer has a memory of the kernel and the Nth resync is not due', () => {
    assert.equal(readBackReason(trusted), undefined);
    assert.equal(readBackReason({ ...trusted, resyncsSinceReadBack: 8 }), undefined);
  });
  it('at start, after a failed sync, with Services preserved, and on every Nth resync', () => {
    assert.match(readBackReason({ ...trusted, forgotten: 'start' })!, /^start/);
    assert.match(readBackReason({ ...trusted, forgotten: 'failure' })!, /failed/);
    assert.match(readBackReason({ ...trusted, preserved: 1 })!, /preserved/);
    assert.match(readBackReason({ ...trusted, resyncsSinceReadBack: 9 })!, /every 10 resyncs/);
    // readBackEvery 1: every resync reads back (the behaviour before the cheap check).
    assert.ok(readBackReason({ ...trusted, readBackEvery: 1 }));
  });
});

/** `nft list chains` as nft 1.0.6 prints it: base chains with their hook line, user chains empty. */
function listing(tables: Record<string, string[]>): string {
  const out: string[] = [];
  for (const [table, chains] of Object.entries(tables)) {
    out.push(`table ${table} {`);
    for (const c of chains) {
      out.push(`\tchain ${c} {`);
      if (/^[A-Z]+$/.test(c)) out.push(`\t\ttype nat hook ${c.toLowerCase()} priority dstnat; policy accept;`);
      out.push('\t}');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

function names(memory: Map<IPFamily, NatMemory>, text: string): string[] {
  const c = new ChainNamesCheck(memory);
  for (const line of text.split('\n')) c.line(line);
  const exact = c.disagreements();
  // The digest, which the syncer asks first, agrees exactly when the exact check finds nothing.
  const d = new ChainNamesDigest(new Map([...memory].map(([f, m]) => [f, natChainsOf(m)])));
  for (const line of text.split('\n')) d.line(line);
  assert.equal(d.agrees(), exact.length === 0, `digest ${d.agrees() ? 'agrees' : 'disagrees'}, exact check: ${exact.join('; ') || 'agrees'}`);
  if (!d.agrees()) assert.ok(d.disagreements().length > 0);
  return exact;
}

const mem = (...chains: string[]): NatMemory => new Map(chains.map((c) => [c, []]));

describe('ChainNamesCheck: our nat chains named by nft against the memory', () => {
  const memory = new Map<IPFamily, NatMemory>([
    ['IPv4', mem('SVP-SERVICES', 'SVP-POSTROUTING', 'SVP-SVC-AAAA', 'SVP-SEP-BBBB')],
    ['IPv6', mem('SVP-SERVICES', 'SVP-POSTROUTING')],
  ]);
  const v4 = ['PREROUTING', 'KUBE-SERVICES', 'SVP-SERVICES', 'SVP-POSTROUTING', 'SVP-SVC-AAAA', 'SVP-SEP-BBBB'];
  const v6 = ['SVP-SERVICES', 'SVP-POSTROUTING'];

  it('agrees when each family lists exactly its chains; other tables, families and owners do not count', () => {
    const text = listing({ 'ip filter': ['INPUT', 'SVP-INPUT', 'SVP-SEP-ZZZZ'], 'ip nat': v4, 'ip6 nat': v6, 'inet svcplane': ['SVP-SEP-YYYY'], 'ip mangle': ['SVP-X'] });
    assert.deepEqual(names(memory, text), []);
  });

  it('a deleted chain (-X), a deleted table, an unknown chain of ours', () => {
    assert.deepEqual(names(memory, listing({ 'ip nat': v4.filter((c) => c !== 'SVP-SEP-BBBB'), 'ip6 nat': v6 })), ['IPv4 nat: 1 of our 4 chains missing']);
    assert.deepEqual(names(memory, listing({ 'ip nat': v4 })), ['IPv6 nat: 2 of our 2 chains missing']);
    assert.deepEqual(names(memory, listing({ 'ip nat': [...v4, 'SVP-SEP-CCCC'], 'ip6 nat': v6 })), ['IPv4 nat: chains not written by us (SVP-SEP-CCCC)']);
    // A chain that moved family is both missing in one and unknown in the other.
    assert.deepEqual(names(memory, listing({ 'ip nat': v4.filter((c) => c !== 'SVP-SVC-AAAA'), 'ip6 nat': [...v6, 'SVP-SVC-AAAA'] })), [
      'IPv4 nat: 1 of our 4 chains missing',
      'IPv6 nat: chains not written by us (SVP-SVC-AAAA)',
    ]);
  });

  it('an empty listing (nat gone in both families) disagrees', () => {
    assert.deepEqual(names(memory, ''), ['IPv4 nat: 4 of our 4 chains missing', 'IPv6 nat: 2 of our 2 chains missing']);
  });
});

describe('chainDisagreement: one chain as iptables -S prints it against what was written', () => {
  const written = ['-A SVP-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVP-SVC-AAAA', '-A SVP-SERVICES -m addrtype --dst-type LOCAL -j SVP-NODEPORTS'];
  const listed = (rules: string[]) => ['-N SVP-SERVICES', ...rules, ''].join('\n');
  it('the same rules in the same order agree', () => {
    assert.equal(chainDisagreement('IPv4', 'SVP-SERVICES', written, listed(written)), undefined);
  });
  it('flushed, a rule deleted, changed or added, the chain missing: each disagrees', () => {
    assert.match(chainDisagreement('IPv4', 'SVP-SERVICES', written, listed([]))!, /0 rules, 2 written/);
    assert.match(chainDisagreement('IPv4', 'SVP-SERVICES', written, listed(written.slice(1)))!, /1 rules, 2 written/);
    assert.match(chainDisagreement('IPv4', 'SVP-SERVICES', written, listed([written[1]!, written[0]!]))!, /rules differ/);
    assert.match(chainDisagreement('IPv4', 'SVP-SERVICES', written, listed([...written, '-A SVP-SERVICES -j ACCEPT']))!, /3 rules, 2 written/);
    assert.match(chainDisagreement('IPv4', 'SVP-SERVICES', written, undefined)!, /missing/);
  });
});

describe('chainsToCompare: the skeleton every time, the Services\' chains a slice at a time', () => {
  const perService = Array.from({ length: 10 }, (_, i) => `SVP-SEP-${i}`);
  const memory = natChainsOf(new Map([...['SVP-SERVICES', 'SVP-NODEPORTS', 'SVP-POSTROUTING', 'SVP-MARK-MASQ'], ...perService].map((c) => [c, []])));
  const namesOf = (r: { chains: { name: string }[] }) => r.chains.map((c) => c.name);

  it('covers every per-Service chain once in ceil(n / slice) resyncs, round the end', () => {
    let cursor = 0;
    const seen: string[] = [];
    for (let round = 0; round < 4; round++) {
      const r = chainsToCompare(memory, cursor, 3);
      const chains = namesOf(r);
      assert.deepEqual(chains.slice(0, 4), SKELETON_NAT_CHAINS);
      assert.equal(chains.length, 7);
      seen.push(...chains.slice(4));
      cursor = r.next;
    }
    // 12 picked of 10: all ten, and the first two again after the wrap.
    assert.deepEqual(new Set(seen), new Set(perService));
    assert.equal(seen.length, 12);
    assert.deepEqual(namesOf(chainsToCompare(memory, 9, 3)).slice(4).sort(), ['SVP-SEP-0', 'SVP-SEP-1', 'SVP-SEP-9']);
  });

  it('no slice when asked for none or when only the skeleton is there', () => {
    assert.deepEqual(namesOf(chainsToCompare(memory, 0, 0)), SKELETON_NAT_CHAINS);
    assert.deepEqual(namesOf(chainsToCompare(natChainsOf(new Map([['SVP-SERVICES', []]])), 5, 8)), ['SVP-SERVICES']);
  });

  it('the skeleton comes in its fixed order wherever the memory holds it; the chains picked carry their rules', () => {
    const m = natChainsOf(new Map<string, string[]>([['SVP-SEP-0', ['-A SVP-SEP-0 -j DNAT']], ['SVP-MARK-MASQ', []], ['SVP-SERVICES', ['-A SVP-SERVICES -j X']]]));
    const r = chainsToCompare(m, 0, 5);
    assert.deepEqual(namesOf(r), ['SVP-SERVICES', 'SVP-MARK-MASQ', 'SVP-SEP-0']);
    assert.deepEqual(r.chains[2]!.rules, ['-A SVP-SEP-0 -j DNAT']);
    assert.equal(r.next, 0);
  });
});

describe('NameDigest: a set of names, whatever their order', () => {
  const of = (names: string[]) => {
    const d = new NameDigest();
    for (const n of names) d.add(n);
    return d;
  };
  it('the same names in any order agree; a name changed, added, dropped or moved between two disagree', () => {
    const base = Array.from({ length: 200 }, (_, i) => `SVP-SEP-${i.toString(36).toUpperCase().padStart(16, 'Q')}`);
    assert.ok(of(base).equals(of([...base].reverse())));
    assert.ok(!of(base).equals(of([...base.slice(1), 'SVP-SEP-ZZZZ'])));
    assert.ok(!of(base).equals(of(base.slice(1))));
    assert.ok(!of(base).equals(of([...base, 'SVP-SVC-A'])));
    // One character swapped within a name, and two names that swap a character between them.
    assert.ok(!of(['SVP-SVC-AB']).equals(of(['SVP-SVC-BA'])));
    assert.ok(!of(['SVP-SVC-AA', 'SVP-SVC-BB']).equals(of(['SVP-SVC-AB', 'SVP-SVC-BA'])));
  });
});

describe('the traffic sets\' entry counts', () => {
  const headers = [
    'Name: SVP-ENDPOINT-TRAFFIC',
    'Type: hash:ip,port',
    'Revision: 6',
    'Header: family inet hashsize 1024 maxelem 1048576 counters comment bucketsize 12 initval 0x1',
    'Size in memory: 1234',
    'References: 4',
    'Number of entries: 3',
    'Members:',
    '',
    'Name: OTHER',
    'Number of entries: 7',
    '',
  ].join('\n');
  it('parses `ipset list -t` and compares with the memory', () => {
    assert.deepEqual(parseIpsetCounts(headers), new Map([['SVP-ENDPOINT-TRAFFIC', 3], ['OTHER', 7]]));
    assert.deepEqual(ipsetDisagreements(new Map([['SVP-ENDPOINT-TRAFFIC', 3]]), parseIpsetCounts(headers)), []);
    assert.deepEqual(ipsetDisagreements(new Map([['SVP-ENDPOINT-TRAFFIC', 4]]), parseIpsetCounts(headers)), ['ipset SVP-ENDPOINT-TRAFFIC: 3 entries, 4 written']);
    assert.deepEqual(ipsetDisagreements(new Map([['SVP6-ENDPOINT-TRAFFIC', 0]]), parseIpsetCounts(headers)), ['ipset SVP6-ENDPOINT-TRAFFIC: missing']);
  });
});
