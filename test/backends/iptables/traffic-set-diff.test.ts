// The traffic sets diffed whole with their lines made as they are pulled (traffic-set-diff.ts):
// the same lines, in the same order, as diffIpsets of the whole set, against no set, a set
// with stale and re-commented entries, and a set without counters (rebuilt).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wholeTrafficDiff } from '../../../src/backends/iptables/traffic-set-diff.js';
import { addLabels, elementsOf, trafficSetName, trafficSetOf, type TrafficLabels } from '../../../src/backends/iptables/traffic-set.js';
import { diffIpsets, parseIpsetSave, type LiveIpset } from '../../../src/backends/ipset.js';

function labelsOf(ports: Array<{ label: string; entries: string[] }>): TrafficLabels {
  const labels: TrafficLabels = new Map();
  addLabels(labels, elementsOf(ports));
  return labels;
}

const labels = labelsOf([
  { label: 'default/web:80/TCP', entries: ['10.244.2.10,tcp:8080', '10.244.1.10,tcp:8080'] },
  { label: 'default/canary:80/TCP', entries: ['10.244.1.10,tcp:8080'] },
  { label: 'default/db:5432/TCP', entries: ['10.244.1.30,tcp:5432'] },
]);

/** What diffIpsets of the whole set gives, in the order the syncer sends it. */
function expected(l: TrafficLabels, sets: ReadonlyMap<string, LiveIpset>) {
  const d = diffIpsets([trafficSetOf('IPv4', l)], sets);
  return { lines: [...d.rebuild, ...d.adds], dels: d.dels };
}

function check(l: TrafficLabels, sets: ReadonlyMap<string, LiveIpset>): void {
  const d = wholeTrafficDiff('IPv4', l, sets);
  const want = expected(l, sets);
  assert.deepEqual([...d.lines()], want.lines);
  assert.equal(d.count, want.lines.length);
  assert.deepEqual(d.dels, want.dels);
  assert.deepEqual(d.head, want.lines.filter((x) => !x.startsWith('add ')));
  // Pulled twice (a kept transaction), the same lines.
  assert.deepEqual([...d.lines()], want.lines);
}

const saved = (text: string) => parseIpsetSave(text);
const NAME = trafficSetName('IPv4');

describe('iptables traffic set, whole diff made as pulled', () => {
  it('no set yet: create, then every entry sorted', () => {
    check(labels, new Map());
    assert.match([...wholeTrafficDiff('IPv4', labels, new Map()).lines()][0]!, /^create SVP-ENDPOINT-TRAFFIC /);
  });

  it('a live set: only missing or re-commented entries added, stale ones deleted, equal ones not sent', () => {
    const live = saved(
      [
        `create ${NAME} hash:ip,port family inet hashsize 1024 maxelem 1048576 counters comment`,
        `add ${NAME} 10.244.1.30,tcp:5432 comment "default/db:5432/TCP"`,
        `add ${NAME} 10.244.1.10,tcp:8080 comment "default/web:80/TCP"`,
        `add ${NAME} 10.244.9.9,tcp:80 comment "default/gone:80/TCP"`,
      ].join('\n'),
    );
    check(labels, live);
    const d = wholeTrafficDiff('IPv4', labels, live);
    assert.equal(d.count, 2);
    assert.deepEqual(d.dels, [`del ${NAME} 10.244.9.9,tcp:80 -exist`]);
  });

  it('a live set without counters is rebuilt first', () => {
    const live = saved([`create ${NAME} hash:ip,port family inet hashsize 1024 maxelem 1048576 comment`, `add ${NAME} 10.244.1.30,tcp:5432 comment "default/db:5432/TCP"`].join('\n'));
    check(labels, live);
    assert.match(wholeTrafficDiff('IPv4', labels, live).head.join('\n'), /swap /);
  });

  it('no entries at all', () => {
    check(new Map(), new Map());
  });
});
