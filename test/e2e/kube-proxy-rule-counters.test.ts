// kube-proxy's two iptables-mode nfacct metrics from our rules' counters, with real packets:
// - kubeproxy_iptables_ct_state_invalid_dropped_packets_total: TCP segments with SYN and FIN
//   both set (a combination conntrack marks INVALID) sent through node1's FORWARD path move
//   the scraped metric by at least the number sent; ordinary connections do not move it.
// - kubeproxy_iptables_localhost_nodeports_accepted_packets_total: connections from node1 to
//   127.0.0.1:nodePort move it by exactly their number (nat sees one packet per
//   connection); the same node port on node1's own address does not; with
//   localhostNodePorts off the metric has no series.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { readKubeProxyRuleCounters } from '../../src/backends/iptables/kube-proxy-counters.js';
import { systemExec } from '../../src/exec/system-exec.js';
import { connectMany } from './lib/client.js';
import { nsExec } from './lib/netns.js';
import { createTopology, type Topology } from './lib/topology.js';
import { applyInNode1, teardown } from './suite/apply-cli.js';
import { endpointSlice, service } from './suite/manifests.js';

const METRIC = 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total';
const LOCALHOST_METRIC = 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total';
const SENT = 10;

/** Sends `n` raw TCP segments with SYN|FIN from `src` to `dst`:`port` (checksum over the pseudo header; the kernel adds the IP header). */
const RAW_SYN_FIN = `
import socket, struct, sys
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(n):
    tcp = struct.pack('!HHIIBBHHH', 40000 + i, port, 1000, 0, 5 << 4, 0x03, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
    s.sendto(tcp, (dst, 0))
`;

describe('iptables: kube-proxy\'s INVALID drop count from our rule, with real packets', { timeout: 600_000 }, () => {
  let t: Topology;
  let dir: string | undefined;

  before(async () => {
    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }], node2: [] } });
    dir = await applyInNode1(t, 'iptables', [
      service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }),
      endpointSlice('web', 'IPv4', [{ ip: t.pod('a').ipv4, node: 'node1' }], [{ port: 8080 }]),
    ], 'svcplane-invalid-');
  });
  after(() => teardown(t, dir));

  it('INVALID packets move the scraped count by what was sent; good connections do not', async () => {
    // tcp_be_liberal is 0 in a new namespace: the drop rule is there, so the series is.
    const metrics = createAgentMetrics({ backend: 'iptables', ruleCounters: () => readKubeProxyRuleCounters(systemExec, t.node1.ns) });
    const scrape = async () => {
      const m = new RegExp(`^${METRIC} (\\d+)$`, 'm').exec(await metrics.registry.metrics());
      assert.ok(m, `${METRIC} is exported while the INVALID drop rule is installed`);
      return Number(m[1]);
    };
    const before = await scrape();
    const ok = await connectMany(t.pod('client'), { ip: '10.96.0.10', port: 80, proto: 'tcp', timeoutMs: 1500 }, 5);
    assert.deepEqual(ok.failures, []);
    assert.equal(await scrape(), before, 'established connections are not INVALID');
    const sent = await nsExec(t.pod('client').ns, ['python3', '-c', RAW_SYN_FIN, t.pod('client').ipv4, t.pod('a').ipv4, '8080', String(SENT)], { reject: false });
    assert.equal(sent.exitCode, 0, sent.stderr);
    const deadline = Date.now() + 30_000;
    let now = before;
    while ((now = await scrape()) < before + SENT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(now >= before + SENT, `moved by ${now - before}, expected >= ${SENT}`);
  });
});

describe('iptables: kube-proxy\'s localhost node port count from our counted rule, with real connections', { timeout: 600_000 }, () => {
  const N = 6;
  let t: Topology;
  let dir: string | undefined;
  const objects = () => [
    service('np', { type: 'NodePort', clusterIP: '10.96.0.23', ports: [{ port: 80, targetPort: 8080, nodePort: 30093 }] }),
    endpointSlice('np', 'IPv4', [{ ip: t.pod('a').ipv4, node: 'node1' }], [{ port: 8080 }]),
  ];
  const allAddresses = (localhostNodePorts: boolean) => ({ nodePortAddresses: ['0.0.0.0/0', '::/0'], iptables: { localhostNodePorts } });

  before(async () => {
    t = await createTopology({ pods: { node1: [{ name: 'a' }], node2: [] } });
  });
  after(() => teardown(t, dir));

  const scrape = async (): Promise<number | undefined> => {
    const metrics = createAgentMetrics({ backend: 'iptables', ruleCounters: () => readKubeProxyRuleCounters(systemExec, t.node1.ns) });
    const m = new RegExp(`^${LOCALHOST_METRIC} (\\d+)$`, 'm').exec(await metrics.registry.metrics());
    return m ? Number(m[1]) : undefined;
  };

  it(`${N} connections to 127.0.0.1:nodePort move it by ${N}; the node's own address does not`, async () => {
    dir = await applyInNode1(t, 'iptables', objects(), 'svcplane-localhost-', allAddresses(true));
    const before = await scrape();
    assert.equal(before, 0, 'served on localhost: the series is there from the start');
    const viaNodeIP = await connectMany(t.node1, { ip: t.node1.ipv4, port: 30093, proto: 'tcp', timeoutMs: 1500 }, 3);
    assert.deepEqual(viaNodeIP.failures, []);
    assert.equal(await scrape(), before, 'the node address is not localhost');
    const r = await connectMany(t.node1, { ip: '127.0.0.1', port: 30093, proto: 'tcp', timeoutMs: 1500 }, N);
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.servers, ['a']);
    assert.equal(await scrape(), before! + N);
  });

  it('with localhostNodePorts off: no counted rule, no series', async () => {
    const again = await applyInNode1(t, 'iptables', objects(), 'svcplane-localhost-off-', allAddresses(false));
    rmSync(again, { recursive: true, force: true });
    assert.equal(await scrape(), undefined);
  });
});
