// What xtables-monitor prints, told apart: our commits, other processes' changes that may
// touch our tables, and those that cannot (lines as xtables-monitor 1.8.9 printed them).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventConcern, RulesetEvents } from '../../../src/backends/iptables/ruleset-events.js';

const gen = (n: number, pid: number, name = 'iptables') => `NEWGEN: GENID=${n} PID=${pid} NAME=${name}`;

function fed(lines: string[], ours: number[] = []): string[] | undefined {
  const e = new RulesetEvents();
  for (const p of ours) e.ownProcess(p);
  for (const l of lines) e.line(l);
  return e.take();
}

describe('ruleset events: which generations may touch our tables', () => {
  it('an event on a chain of ours, a built-in chain, a table of ours, an empty event or none: concerns us', () => {
    for (const ev of [
      '-4 -t nat -A SVP-SERVICES -d 10.96.0.10/32 -j SVP-SVC-X',
      '-6 -t nat -X SVP-SEP-ABC',
      '-4 -t nat -D PREROUTING -j SVP-SERVICES',
      '-4 -t mangle -D POSTROUTING -m set --match-set SVP-ENDPOINT-TRAFFIC dst,dst',
      '-4 -t nat -N KUBE-Y', // a rename of a chain (ours or not) prints only this
      'nft: DEL table: table nat ip flags 0 use 0 handle 4',
      'nft: NEW table: table filter ip6 flags 0 use 0 handle 9',
      '# nft: ip nat PREROUTING use 1 type nat hook prerouting prio -100 policy accept',
      '',
      'something new',
    ]) assert.notEqual(eventConcern(ev), undefined, ev);
  });

  it('a rule in a chain of someone else, a chain of theirs deleted, another table: does not', () => {
    for (const ev of [
      '-4 -t nat -A KUBE-SVC-ABC -j KUBE-SEP-DEF',
      '-4 -t filter -D KUBE-FIREWALL -j DROP',
      '-4 -t nat -X KUBE-SEP-OLD',
      'nft: NEW table: table kube-proxy ip flags 0 use 0 handle 6',
      'nft: DEL table: table fw inet flags 0 use 0 handle 6',
      '# nft: inet fw c use 0',
    ]) assert.equal(eventConcern(ev), undefined, ev);
  });

  it('a foreign generation that touches us is named; ours and harmless ones are not', () => {
    const why = fed(
      [
        ' EVENT: -4 -t nat -N SVP-SVC-NEW',
        gen(7, 100, 'iptables-nft-re'), // ours
        ' EVENT: -4 -t nat -A KUBE-SVC-A -j RETURN',
        gen(8, 200), // harmless
        ' EVENT: -4 -t nat -D SVP-SERVICES -j SVP-SVC-NEW',
        ' EVENT: -4 -t nat -A KUBE-SVC-A -j RETURN',
        gen(9, 300),
      ],
      [100],
    );
    assert.deepEqual(why, ['generation 9 by iptables (pid 300): -4 -t nat -D SVP-SERVICES -j SVP-SVC-NEW']);
  });

  it('a generation with no event shown (a set element changed) is a foreign change; so is an unknown line', () => {
    assert.match(fed([gen(3, 5, 'nft')])![0]!, /generation 3 by nft \(pid 5\): no event shown/);
    assert.match(fed(['garbage', gen(4, 5)])![0]!, /unknown monitor line: garbage/);
    assert.equal(fed([gen(3, 5, 'nft')], [5]), undefined);
  });

  it('take() starts a new period; the count says how many more there were', () => {
    const e = new RulesetEvents();
    for (let g = 1; g <= 5; g++) e.line(gen(g, 1000 + g, 'nft'));
    assert.equal(e.seen, 5);
    const why = e.take()!;
    assert.equal(why.length, 4);
    assert.equal(why[3], '… 2 more');
    assert.equal(e.take(), undefined);
  });

  it('a new monitor forgets the events of a generation whose NEWGEN line never came', () => {
    const e = new RulesetEvents();
    e.ownProcess(42);
    e.line(' EVENT: -4 -t nat -A SVP-SERVICES -j DROP');
    e.newStream();
    e.line(' EVENT: -4 -t nat -A KUBE-X -j RETURN');
    e.line(gen(2, 43));
    assert.equal(e.take(), undefined);
  });
});
