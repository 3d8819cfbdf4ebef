// IPVS per-Service traffic (issue 18 §2) against a real IPVS kernel (the test VM): the
// IPVS backend's render of two Services is loaded with `ipvsadm -R`, a client makes 2
// connections, then exactly N more to one Service; the statistics the agent reads
// (`ipvsadm -Ln --stats --exact`) are printed after each phase and, on the host, go
// through the backend's own parser and naming (stats.ts, stats-reader.ts). The
// counters must move by exactly N new connections (N/2 per endpoint with rr), by at
// least the packets N TCP exchanges take, and not at all for the Service nobody used.
//
// The kernel folds its per-CPU counters into what ipvsadm prints about every 2 s
// (measured: 0 right after the connections, all of them a second later), so the script
// waits until the printed count reaches what it sent (bounded, 60 s) before printing.
// Never skipped: no qemu, apt or network -> the VM run rejects and the test fails.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SECTION, splitSections } from '../../src/backends/ipvs/document.js';
import { ipvsBackend } from '../../src/backends/ipvs/index.js';
import { parseIpvsStats } from '../../src/backends/ipvs/stats.js';
import { ipvsTrafficSamples, virtualServerNames } from '../../src/backends/ipvs/stats-reader.js';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';
import { runInVm, type VmResult } from './vm.js';

const N = 6;
const INPUT = input(
  [svc({ name: 'web', namespace: 'shop', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] }), svc({ name: 'idle', namespace: 'shop', clusterIPs: ['10.96.0.11'], ports: [port(80, 8080)] })],
  [
    { ...slice('web', [ep('10.244.1.10', 'node1'), ep('10.244.1.11', 'node1')], [{ port: 8080 }]), namespace: 'shop' },
    { ...slice('idle', [ep('10.244.1.10', 'node1')], [{ port: 8080 }]), namespace: 'shop' },
  ],
  { node: { name: 'node1', addresses: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] } },
);
const IPVS_RESTORE = splitSections(ipvsBackend.render(INPUT)).get(SECTION.ipvs)!;

const SCRIPT = String.raw`
set -eu
conns() { ipvsadm -Ln --stats --exact | awk '$1 == "TCP" && $2 == "10.96.0.10:80" { print $3 }'; }
settle() {
  for i in $(seq 600); do [ "$(conns)" = "$1" ] && return 0; sleep 0.1; done
  echo "counters did not reach $1 connections in 60 s"
}
# The VIPs on the dummy interface the backend uses; two local "pods" answering with their name.
for dev in svcplane-ipvs0 pods0; do ip link add $dev type dummy && ip link set $dev up; done
for vip in 10.96.0.10 10.96.0.11; do ip addr add $vip/32 dev svcplane-ipvs0; done
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1
for ep in 10 11; do
  ip addr add 10.244.1.$ep/32 dev pods0
  socat TCP4-LISTEN:8080,bind=10.244.1.$ep,fork,reuseaddr SYSTEM:"echo ep-$ep" &
  for i in $(seq 50); do netstat -lnt | grep -q " 10.244.1.$ep:8080 " && break; sleep 0.1; done
done
ipvsadm -R < /work/input/ipvs.txt
for i in 1 2; do echo "answer $(socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done
settle 2
echo "== before"
ipvsadm -Ln --stats --exact
echo "== traffic"
for i in $(seq ${N}); do echo "answer $(socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done
settle $((2 + ${N}))
echo "== after"
ipvsadm -Ln --stats --exact
echo "== end"
`;

const section = (output: string, name: string) => output.split(`== ${name}\n`)[1]?.split('\n== ')[0] ?? '';
const value = (samples: readonly TrafficSample[], service: string, kind: string, endpoint?: string) =>
  samples.find((s) => s.service === service && s.kind === kind && s.endpoint === endpoint)?.value ?? 0;

describe('IPVS traffic counters in a real IPVS kernel', { timeout: 300_000 }, () => {
  let run: VmResult;
  let before_: TrafficSample[];
  let after: TrafficSample[];
  before(async () => {
    run = await runInVm(SCRIPT, { files: { 'ipvs.txt': IPVS_RESTORE }, timeoutMs: 240_000 });
    const names = virtualServerNames(INPUT);
    before_ = ipvsTrafficSamples(parseIpvsStats(section(run.output, 'before')), names);
    after = ipvsTrafficSamples(parseIpvsStats(section(run.output, 'after')), names);
  });

  it('the script ran and every connection was answered through IPVS', () => {
    assert.equal(run.exitCode, 0, run.output);
    const answers = run.output.split('\n').filter((l) => l.startsWith('answer '));
    assert.equal(answers.length, 2 + N, run.output);
    assert.deepEqual(new Set(answers), new Set(['answer ep-10', 'answer ep-11']), run.output);
  });

  it(`N = ${N} connections move the Service's new connections by exactly N, N/2 per endpoint (rr)`, () => {
    assert.equal(value(before_, 'web', 'new_connections'), 2, run.output);
    assert.equal(value(after, 'web', 'new_connections') - value(before_, 'web', 'new_connections'), N, run.output);
    for (const e of ['10.244.1.10:8080', '10.244.1.11:8080']) {
      assert.equal(value(after, 'web', 'endpoint_new_connections', e) - value(before_, 'web', 'endpoint_new_connections', e), N / 2, `${e}\n${run.output}`);
    }
  });

  it('packets and bytes move by at least what N TCP exchanges take (3-way handshake, answer, close: 4+ packets each)', () => {
    const packets = value(after, 'web', 'packets') - value(before_, 'web', 'packets');
    const bytes = value(after, 'web', 'bytes') - value(before_, 'web', 'bytes');
    assert.ok(packets >= 4 * N, `packets moved by ${packets}\n${run.output}`);
    assert.ok(bytes >= 40 * packets, `bytes moved by ${bytes} for ${packets} packets (an IPv4 + TCP header alone is 40 bytes)`);
    const perEndpoint = ['10.244.1.10:8080', '10.244.1.11:8080'].reduce((sum, e) => sum + value(after, 'web', 'endpoint_packets', e), 0);
    assert.equal(perEndpoint, value(after, 'web', 'packets'), 'the endpoints\' packets add up to the Service\'s');
  });

  it('the Service nobody used has its series, at 0', () => {
    assert.ok(after.some((s) => s.service === 'idle' && s.kind === 'new_connections'), run.output);
    assert.equal(value(after, 'idle', 'new_connections'), 0);
    assert.equal(value(after, 'idle', 'packets'), 0);
  });
});
