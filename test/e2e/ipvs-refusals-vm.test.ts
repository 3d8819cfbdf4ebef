// IPVS refusals per Service (issue 18 §1) in a real IPVS kernel (qemu VM, test/vm): the
// backend's render is applied with the tools and flags apply uses, a client namespace
// sends UDP datagrams (one packet each, from a new socket: each is a new connection)
// that the helper rules refuse, and the agent's reader (readIpvsTraffic, through a
// FakeExec answering with what the VM's tools printed before and after) must see each
// Service's refusals move by exactly what was sent, under the right reason:
//   empty  10.96.0.40:53/UDP, node port 30053, no endpoint   -> rejected no_endpoints
//   fw     LB 203.0.113.40:53/UDP, range 192.168.50.2/32      -> dropped source_range (from .3 only)
//   local  LB 203.0.113.41:53/UDP, node port 30054, Local,
//          its one endpoint on node2                          -> dropped no_local_endpoint
// Never skipped: no qemu, apt or network -> the VM run rejects and every check fails.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SECTION, splitSections } from '../../src/backends/ipvs/document.js';
import { ipvsBackend } from '../../src/backends/ipvs/index.js';
import { COUNTED_SET_NAMES } from '../../src/backends/ipvs/refusals.js';
import { DUMMY_INTERFACE } from '../../src/backends/ipvs/ruleset.js';
import { readIpvsTraffic } from '../../src/backends/ipvs/stats-reader.js';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { FakeExec } from '../../src/exec/fake.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';
import { runInVm, type VmResult } from '../vm/vm.js';
import { HOOKS_SCRIPT, SYSCTLS_SCRIPT } from './ipvs/script.js';
import { clientScript } from './ipvs/pods-script.js';
import { sections } from './ipvs/sections.js';

const NODE_IP = '192.168.50.1';
const IN_RANGE = '192.168.50.2';
const OUT_OF_RANGE = '192.168.50.3';
const N = 5;
const udp = (p: number, nodePort?: number) => port(p, 5353, { protocol: 'UDP', ...(nodePort ? { nodePort } : {}) });
const udpSlice = (name: string, eps: ReturnType<typeof ep>[]) => slice(name, eps, [{ port: 5353, protocol: 'UDP' }]);

const INPUT = input(
  [
    svc({ name: 'empty', type: 'NodePort', clusterIPs: ['10.96.0.40'], ports: [udp(53, 30053)] }),
    svc({ name: 'fw', type: 'LoadBalancer', clusterIPs: ['10.96.0.41'], ports: [udp(53, 30055)], loadBalancerIngress: [{ ip: '203.0.113.40', ipMode: 'VIP' }], loadBalancerSourceRanges: [`${IN_RANGE}/32`] }),
    svc({ name: 'local', type: 'LoadBalancer', clusterIPs: ['10.96.0.42'], ports: [udp(53, 30054)], loadBalancerIngress: [{ ip: '203.0.113.41', ipMode: 'VIP' }], externalTrafficPolicy: 'Local' }),
  ],
  [udpSlice('empty', []), udpSlice('fw', [ep('10.244.1.10', 'node1')]), udpSlice('local', [ep('10.244.2.10', 'node2')])],
  { node: { name: 'node1', addresses: [NODE_IP], podCIDRs: ['10.244.1.0/24'] }, config: { clusterCIDRs: ['10.244.0.0/16'] } },
);

const doc = splitSections(ipvsBackend.render(INPUT));
const FILES = {
  addresses: doc.get(SECTION.addresses)!,
  ipset4: doc.get(SECTION.ipset4)!,
  ipset6: doc.get(SECTION.ipset6)!,
  iptables4: doc.get(SECTION.iptables4)!,
  iptables6: doc.get(SECTION.iptables6)!,
  ipvs: doc.get(SECTION.ipvs)!,
  'save-counted': COUNTED_SET_NAMES.map((n) => `save ${n}`).join('\n') + '\n',
};

// send LABEL TARGET [SOURCE]: N datagrams from the client, each from a new socket.
const SCRIPT = String.raw`
set -eu
in=/work/input
send() {
  for i in $(seq ${N}); do echo x | ip netns exec client socat -u - "UDP4:$2${'${3:+,bind=$3}'}" || echo "send $1 failed"; done
}
# What the reader runs: ipset list -n, ipset restore of "save NAME" lines, ipvsadm -Ln --stats --exact.
read_counters() {
  echo "== $1 names"; ipset list -n
  echo "== $1 counted"; ipset restore < $in/save-counted
  echo "== $1 stats"; ipvsadm -Ln --stats --exact
}
${clientScript({ nodeIP: NODE_IP, clientIPs: [IN_RANGE, OUT_OF_RANGE] })}
echo "== apply"
${SYSCTLS_SCRIPT}
ip link add ${DUMMY_INTERFACE} type dummy
ip link set ${DUMMY_INTERFACE} up
while read -r a; do ip addr add "$a" dev ${DUMMY_INTERFACE}; done < $in/addresses
ipset restore < $in/ipset4
ipset restore < $in/ipset6
iptables-restore --noflush -w < $in/iptables4
ip6tables-restore --noflush -w < $in/iptables6
${HOOKS_SCRIPT}
ipvsadm -R < $in/ipvs
read_counters before
echo "== traffic"
send empty-clusterip 10.96.0.40:53
send empty-nodeport ${NODE_IP}:30053
send fw-out-of-range 203.0.113.40:53 ${OUT_OF_RANGE}
send fw-in-range 203.0.113.40:53 ${IN_RANGE}
send local-lb 203.0.113.41:53
send local-nodeport ${NODE_IP}:30054
read_counters after
echo "== done"
`;

/** readIpvsTraffic, the agent's reader, on what the VM's tools printed at one point. */
async function readAt(out: Map<string, string>, when: string): Promise<TrafficSample[]> {
  const exec = new FakeExec()
    .on('ipset', ['list', '-n'], { stdout: out.get(`${when} names`) ?? '' })
    .on('ipset', ['restore'], { stdout: out.get(`${when} counted`) ?? '' })
    .on('ipvsadm', ['-Ln', '--stats', '--exact'], { stdout: out.get(`${when} stats`) ?? '' });
  return readIpvsTraffic(exec, undefined, INPUT);
}

const value = (samples: readonly TrafficSample[], service: string, kind: string, reason: string) =>
  samples.find((s) => s.service === service && s.kind === kind && s.reason === reason)?.value;

describe('IPVS refusals per Service, counted by the refusing ipsets in a real IPVS kernel (qemu VM)', { timeout: 600_000 }, () => {
  let run: VmResult;
  let out: Map<string, string>;
  let before_: TrafficSample[];
  let after: TrafficSample[];
  before(async () => {
    run = await runInVm(SCRIPT, { files: FILES, timeoutMs: 300_000 });
    out = sections(run.output);
    before_ = await readAt(out, 'before');
    after = await readAt(out, 'after');
    process.stderr.write(`ipvs-refusals-vm: VM run ${run.durationMs} ms\n`);
  });

  const moved = (service: string, kind: string, reason: string) => {
    const a = value(after, service, kind, reason);
    const b = value(before_, service, kind, reason);
    assert.ok(a !== undefined && b !== undefined, `${service} ${kind} ${reason}: no series\n${out.get('after counted')}`);
    return a - b;
  };

  it('the script ran, every datagram was sent, and the refusing sets were created with counters', () => {
    assert.equal(run.exitCode, 0, run.output);
    assert.ok(out.has('done'), run.output);
    assert.doesNotMatch(out.get('traffic') ?? '', /failed/, out.get('traffic'));
    for (const name of ['SVP-NO-ENDPOINTS', 'SVP-NO-EP-NODE-PORT-UDP', 'SVP-LOAD-BALANCER-FW', 'SVP-NO-LOCAL-ENDPOINTS', 'SVP-NO-LOCAL-NODE-PORT-UDP']) {
      assert.match(out.get('after counted') ?? '', new RegExp(`^create ${name} \\S+ .*\\bcounters\\b`, 'm'), out.get('after counted'));
    }
  });

  it(`a Service with no endpoints: ${N} datagrams to its ClusterIP and ${N} to its node port move its rejected count by ${2 * N}`, () => {
    assert.equal(value(before_, 'empty', 'rejected_packets', 'no_endpoints'), 0);
    assert.equal(moved('empty', 'rejected_packets', 'no_endpoints'), 2 * N);
  });

  it(`loadBalancerSourceRanges: only the ${N} datagrams from outside the range count as dropped`, () => {
    assert.equal(moved('fw', 'dropped_packets', 'source_range'), N);
  });

  it(`Local policy with no endpoint here: ${N} to the LB IP and ${N} to the node port count as dropped`, () => {
    assert.equal(moved('local', 'dropped_packets', 'no_local_endpoint'), 2 * N);
  });

  it('each refusal is counted once, under its own reason and Service', () => {
    const refusals = after.filter((s) => s.kind === 'rejected_packets' || s.kind === 'dropped_packets');
    assert.deepEqual(
      refusals.map((s) => `${s.service} ${s.kind} ${s.reason}`).sort(),
      ['empty rejected_packets no_endpoints', 'fw dropped_packets source_range', 'local dropped_packets no_local_endpoint'],
    );
  });
});
