// The conntrack deletions a sync runs, through a recording FakeExec: the exact
// `conntrack -D` commands for a plan, how their answers are read ("N flow entries
// have been deleted" on stderr, exit 1 when N is 0), and a failure that names the
// command and conntrack's stderr for the agent's log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conntrackPlan, runConntrack } from '../../src/agent/conntrack.js';
import { FakeExec } from '../../src/exec/fake.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

const dns = svc({ name: 'dns', clusterIPs: ['10.96.0.10'], type: 'NodePort', ports: [port(53, 53, { protocol: 'UDP', name: 'dns', nodePort: 30053 })] });
const dnsSlice = (ips: string[]) => slice('dns', ips.map((ip) => ep(ip)), [{ name: 'dns', port: 53, protocol: 'UDP' }]);

test('conntrack: an endpoint removed runs one `conntrack -D` per VIP and node port, and counts what each deleted', async () => {
  const fake = new FakeExec()
    .on('conntrack', ['-D', '-p', 'udp', '--orig-dst'], { stderr: 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n' })
    .on('conntrack', ['-D', '-p', 'udp', '--orig-port-dst'], { exitCode: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' });
  const plan = conntrackPlan(input([dns], [dnsSlice(['10.244.1.10', '10.244.1.11'])]), input([dns], [dnsSlice(['10.244.1.11'])]));
  const results = await runConntrack(plan, fake);
  assert.deepEqual(fake.lines(), [
    'conntrack -D -p udp --orig-dst 10.96.0.10 --reply-src 10.244.1.10',
    'conntrack -D -p udp --orig-port-dst 30053 --reply-src 10.244.1.10',
  ]);
  assert.deepEqual(
    results.map((r) => ({ ok: r.ok, deleted: r.deleted })),
    [
      { ok: true, deleted: 3 },
      { ok: true, deleted: 0 },
    ],
    'exit 1 with "0 flow entries" is nothing to delete, not a failure',
  );
});

test('conntrack: a failing conntrack is reported with its command line and stderr, and the next deletion still runs', async () => {
  const fake = new FakeExec()
    .on('conntrack', ['-D'], { stderr: 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n' })
    .on('conntrack', ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10'], { exitCode: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n' });
  const results = await runConntrack([['-p', 'udp', '--orig-dst', '10.96.0.10'], ['-p', 'udp', '--orig-port-dst', '30053']], fake);
  assert.deepEqual(results[0], {
    args: ['-p', 'udp', '--orig-dst', '10.96.0.10'],
    ok: false,
    deleted: 0,
    error: 'conntrack -D -p udp --orig-dst 10.96.0.10 exited 1: conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted',
  });
  assert.deepEqual({ ok: results[1]!.ok, deleted: results[1]!.deleted }, { ok: true, deleted: 1 });
});
