// IPVS refusals per Service: the counted sets' `ipset save` lines (the format this
// machine's ipset 7.17 prints for sets created with `counters`) parsed and named after
// the Service ports of a render input; the sets render creates with counters; and the
// reader's two ipset commands.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderIpvs } from '../../../src/backends/ipvs/render.js';
import { COUNTED_SET_NAMES, parseSetCounters, refusalSamples, saveCountedSets } from '../../../src/backends/ipvs/refusals.js';
import { trafficNames } from '../../../src/backends/ipvs/stats-reader.js';
import { sumSamples } from '../../../src/backends/traffic.js';
import { FakeExec } from '../../../src/exec/fake.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const INPUT = input(
  [
    svc({ name: 'empty', namespace: 'shop', type: 'NodePort', clusterIPs: ['10.96.0.40'], ports: [port(80, 8080, { nodePort: 30080 }), port(53, 5353, { name: 'dns', protocol: 'UDP', nodePort: 30053 })] }),
    svc({ name: 'fw', namespace: 'shop', type: 'LoadBalancer', clusterIPs: ['10.96.0.41'], ports: [port(443, 8443, { nodePort: 30443 })], loadBalancerIngress: [{ ip: '203.0.113.40', ipMode: 'VIP' }], loadBalancerSourceRanges: ['192.168.50.2/32'] }),
    svc({ name: 'local', namespace: 'shop', type: 'LoadBalancer', clusterIPs: ['fd00:10:96::42'], ports: [port(80, 8080, { nodePort: 30081 })], loadBalancerIngress: [{ ip: 'fd00:203::41', ipMode: 'VIP' }], externalTrafficPolicy: 'Local' }),
  ],
  [
    { ...slice('empty', [], [{ port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }]), namespace: 'shop' },
    { ...slice('fw', [ep('10.244.1.10', 'node1')], [{ port: 8443 }]), namespace: 'shop' },
    { ...slice('local', [ep('fd00:244:2::10', 'node2')], [{ port: 8080 }], { addressType: 'IPv6' }), namespace: 'shop' },
  ],
);

// As `ipset save` prints the sets of INPUT's render after some refused traffic (IPv6 compressed by ipset).
const SAVED = `create SVP-NO-ENDPOINTS hash:ip,port family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x0b85b48f
add SVP-NO-ENDPOINTS 10.96.0.40,udp:53 packets 4 bytes 116
add SVP-NO-ENDPOINTS 10.96.0.40,tcp:80 packets 6 bytes 360
create SVP-NO-EP-NODE-PORT-TCP bitmap:port range 0-65535 counters
add SVP-NO-EP-NODE-PORT-TCP 30080 packets 2 bytes 120
create SVP-NO-EP-NODE-PORT-UDP bitmap:port range 0-65535 counters
add SVP-NO-EP-NODE-PORT-UDP 30053 packets 0 bytes 0
create SVP-LOAD-BALANCER-FW hash:ip,port family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x1a4b5b48
add SVP-LOAD-BALANCER-FW 203.0.113.40,tcp:443 packets 7 bytes 420
add SVP-LOAD-BALANCER-FW 203.0.113.99,tcp:443 packets 9 bytes 540
create SVP6-NO-LOCAL-ENDPOINTS hash:ip,port family inet6 hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0xce61c366
add SVP6-NO-LOCAL-ENDPOINTS fd00:203::41,tcp:80 packets 3 bytes 240
create SVP6-NO-LOCAL-NODE-PORT-TCP bitmap:port range 0-65535 counters
add SVP6-NO-LOCAL-NODE-PORT-TCP 30081 packets 5 bytes 400
create SVP-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x01
add SVP-CLUSTER-IP 10.96.0.40,tcp:80
`;

const pick = (samples: ReturnType<typeof refusalSamples>, service: string, kind: string) =>
  samples.filter((s) => s.service === service && s.kind === kind);

describe('ipvs refusals per Service', () => {
  it('parses the elements that carry counters, and only those', () => {
    const c = parseSetCounters(SAVED);
    assert.equal(c.length, 8);
    assert.deepEqual(c[0], { set: 'SVP-NO-ENDPOINTS', entry: '10.96.0.40,udp:53', packets: 4 });
    assert.deepEqual(c.find((x) => x.set === 'SVP-NO-EP-NODE-PORT-TCP'), { set: 'SVP-NO-EP-NODE-PORT-TCP', entry: '30080', packets: 2 });
    assert.ok(!c.some((x) => x.set === 'SVP-CLUSTER-IP'));
  });

  it('names each element after its Service port, with the kind and reason of its set; Service ports add up', () => {
    const samples = sumSamples(refusalSamples(parseSetCounters(SAVED), trafficNames(INPUT)));
    // ClusterIP tcp:80 (6) + node port 30080/TCP (2); the UDP port is its own series.
    assert.deepEqual(pick(samples, 'empty', 'rejected_packets'), [
      { namespace: 'shop', service: 'empty', port: 53, protocol: 'UDP', kind: 'rejected_packets', reason: 'no_endpoints', value: 0 + 4 },
      { namespace: 'shop', service: 'empty', port: 80, protocol: 'TCP', kind: 'rejected_packets', reason: 'no_endpoints', value: 8 },
    ].sort((a, b) => a.port - b.port));
    assert.deepEqual(pick(samples, 'fw', 'dropped_packets'), [{ namespace: 'shop', service: 'fw', port: 443, protocol: 'TCP', kind: 'dropped_packets', reason: 'source_range', value: 7 }]);
    // IPv6: the LB IP (as ipset prints it) and the node port of the IPv6 sets.
    assert.deepEqual(pick(samples, 'local', 'dropped_packets'), [{ namespace: 'shop', service: 'local', port: 80, protocol: 'TCP', kind: 'dropped_packets', reason: 'no_local_endpoint', value: 8 }]);
    assert.equal(samples.length, 4, 'an element no Service of the input has (203.0.113.99) is not named');
  });

  it('an address written longhand in the set still names its Service (ipset prints canonical IPv6)', () => {
    const c = parseSetCounters('add SVP6-NO-LOCAL-ENDPOINTS fd00:203:0:0::41,tcp:80 packets 1 bytes 80\n');
    assert.equal(refusalSamples(c, trafficNames(INPUT))[0]?.value, 1);
  });

  it('render creates exactly the refusing sets with counters, in both families', () => {
    const r = renderIpvs(INPUT);
    const counted = r.families.flatMap((f) => f.ipsets.filter((s) => s.counters).map((s) => s.name));
    assert.deepEqual(counted.sort(), [...COUNTED_SET_NAMES].sort());
    assert.deepEqual(
      COUNTED_SET_NAMES.filter((n) => n.startsWith('SVP-')).sort(),
      ['SVP-LOAD-BALANCER-FW', 'SVP-NO-ENDPOINTS', 'SVP-NO-EP-NODE-PORT-SCTP', 'SVP-NO-EP-NODE-PORT-TCP', 'SVP-NO-EP-NODE-PORT-UDP', 'SVP-NO-LOCAL-ENDPOINTS', 'SVP-NO-LOCAL-NODE-PORT-SCTP', 'SVP-NO-LOCAL-NODE-PORT-TCP', 'SVP-NO-LOCAL-NODE-PORT-UDP'],
    );
  });

  it('reads with `ipset list -n` and one `ipset restore` of save lines for the counted sets present; none present: no restore', async () => {
    const exec = new FakeExec().on('ipset', ['list', '-n'], { stdout: 'SVP-CLUSTER-IP\nSVP-NO-ENDPOINTS\nSVP6-NO-LOCAL-ENDPOINTS\nOTHER\n' }).on('ipset', ['restore'], { stdout: SAVED });
    assert.equal(await saveCountedSets(exec, 'node1'), SAVED);
    assert.deepEqual(exec.commands.map((c) => [c.file, ...c.args, c.netns]), [['ipset', 'list', '-n', 'node1'], ['ipset', 'restore', 'node1']]);
    assert.equal(exec.commands[1]!.input, 'save SVP-NO-ENDPOINTS\nsave SVP6-NO-LOCAL-ENDPOINTS\n');
    const none = new FakeExec().on('ipset', ['list', '-n'], { stdout: 'SVP-CLUSTER-IP\n' });
    assert.equal(await saveCountedSets(none), '');
    assert.equal(none.commands.length, 1);
  });
});
