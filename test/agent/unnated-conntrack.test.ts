// Conntrack entries to a ClusterIP that were never DNATed (unnated-conntrack.ts): found
// in conntrack's listing, deleted per ClusterIP and protocol, and nothing else touched.
// The cluster faults test checks the same on a node whose rules were flushed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIPsByFamily, deleteUnNatedEntries, unNatedDeletions, unNatedEntry } from '../../src/agent/unnated-conntrack.js';
import { FakeExec } from '../../src/exec/fake.js';
import { input, port, svc } from '../helpers/model.js';

const VIPS = new Set(['10.96.0.10', '10.96.0.11']);
// As conntrack 1.4.7 prints them (the first two taken from a flushed cluster node).
const UNNATED_SYN = 'tcp      6 116 SYN_SENT src=10.244.1.10 dst=10.96.0.10 sport=33326 dport=80 [UNREPLIED] src=10.96.0.10 dst=10.244.1.10 sport=80 dport=33326 mark=0 use=1';
const DNATED = 'tcp      6 71 TIME_WAIT src=10.244.3.10 dst=10.96.0.10 sport=37248 dport=80 src=10.244.1.11 dst=10.244.3.10 sport=80 dport=37248 [ASSURED] mark=0 use=1';
const UNNATED_UDP = 'udp      17 29 src=10.244.1.10 dst=10.96.0.11 sport=5353 dport=53 [UNREPLIED] src=10.96.0.11 dst=10.244.1.10 sport=53 dport=5353 mark=0 use=1';
const OTHER_HOST = 'tcp      6 86 SYN_SENT src=10.244.1.10 dst=192.0.2.7 sport=40000 dport=443 [UNREPLIED] src=192.0.2.7 dst=10.244.1.10 sport=443 dport=40000 mark=0 use=1';
const UNNATED_V6 = 'tcp      6 110 SYN_SENT src=fd00:10:244:1::10 dst=fd00:10:96::10 sport=41000 dport=80 [UNREPLIED] src=fd00:10:96::10 dst=fd00:10:244:1::10 sport=80 dport=41000 mark=0 use=1';

describe('conntrack entries to ClusterIPs that were never DNATed', () => {
  it('an entry is one when its reply still comes from the ClusterIP; a DNATed one or one to another address is not', () => {
    assert.deepEqual(unNatedEntry(UNNATED_SYN, VIPS), { proto: 'tcp', vip: '10.96.0.10' });
    assert.deepEqual(unNatedEntry(UNNATED_UDP, VIPS), { proto: 'udp', vip: '10.96.0.11' });
    assert.equal(unNatedEntry(DNATED, VIPS), undefined, 'DNATed to 10.244.1.11: a live connection');
    assert.equal(unNatedEntry(OTHER_HOST, VIPS), undefined, 'not a ClusterIP');
    assert.deepEqual(unNatedEntry(UNNATED_V6, new Set(['fd00:10:96::10'])), { proto: 'tcp', vip: 'fd00:10:96::10' });
  });

  it('one deletion per ClusterIP and protocol, matching only entries whose reply comes from it', () => {
    assert.deepEqual(unNatedDeletions([UNNATED_SYN, DNATED, UNNATED_SYN.replace('33326', '33328'), UNNATED_UDP, OTHER_HOST], VIPS), [
      ['-p', 'tcp', '--orig-dst', '10.96.0.10', '--reply-src', '10.96.0.10'],
      ['-p', 'udp', '--orig-dst', '10.96.0.11', '--reply-src', '10.96.0.11'],
    ]);
    assert.deepEqual(unNatedDeletions([DNATED, OTHER_HOST], VIPS), []);
  });

  it('lists each served family once and deletes what the listing showed; a failed listing is a failed result', async () => {
    const world = input(
      [svc({ name: 'a', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] }), svc({ name: 'b', clusterIPs: ['fd00:10:96::10'], ipFamilies: ['IPv6'], ports: [port(80, 8080)] })],
      [],
    );
    assert.deepEqual([...clusterIPsByFamily(world)].map(([f, s]) => [f, [...s]]), [['IPv4', ['10.96.0.10']], ['IPv6', ['fd00:10:96::10']]]);
    const fake = new FakeExec()
      .on('conntrack', ['-L', '-f', 'ipv4'], { stdout: `${UNNATED_SYN}\n${DNATED}\n` })
      .on('conntrack', ['-L', '-f', 'ipv6'], { exitCode: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: not supported' })
      .on('conntrack', ['-D'], { exitCode: 0, stderr: 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.' });
    const results = await deleteUnNatedEntries(world, ['IPv4', 'IPv6'], fake);
    assert.deepEqual(fake.lines(), ['conntrack -L -f ipv4', 'conntrack -D -p tcp --orig-dst 10.96.0.10 --reply-src 10.96.0.10', 'conntrack -L -f ipv6']);
    assert.deepEqual(results.map((r) => [r.ok, r.deleted]), [[true, 1], [false, 0]]);
    assert.match(results[1]!.error!, /conntrack -L -f ipv6 exited 1: .*not supported/);
  });
});
