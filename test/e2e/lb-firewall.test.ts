// The loadBalancerSourceRanges firewall's implicit allowances with real traffic, for
// the nftables and iptables backends (src/backends/lb-firewall.ts): a source outside
// the ranges is dropped, one inside is accepted, the load-balancer IP as a source is
// accepted only when a range holds the node's primary address, and the node itself
// gets no allowance of its own. IPVS (no kernel module here) runs the same checks in
// a VM: test/e2e/ipvs-lb-firewall-vm.test.ts.
//
// node1's primary address (its first InternalIP) is 172.18.0.1. Two Services:
//   fw-out  203.0.113.40, .42  ranges 192.168.50.2/32               (no range holds the node)
//   fw-in   203.0.113.41, .43  ranges 192.168.50.2/32, 172.18.0.0/24 (one holds the node)
// .40 and .41 are also bound on node1's lo, as VIP-like load balancers do (GCE): a
// connection from node1 to one then leaves with the VIP as its source.
// The external host (192.168.50.2, in range) gets a second address, 192.168.50.3,
// outside every range, and plays a load balancer that SNATs to its own address for
// .42 and .43: it holds them, and policy routing sends its own connections to them
// out to node1 (see sendOwnVipToNode).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type ConnectResult, type Target } from './lib/client.js';
import { nsExec } from './lib/netns.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { applyInNode1, teardown } from './suite/apply-cli.js';
import { endpointSlice, service } from './suite/manifests.js';
const FW_OUT = '203.0.113.40';
const FW_IN = '203.0.113.41';
const FW_OUT_SNAT = '203.0.113.42';
const FW_IN_SNAT = '203.0.113.43';
const EXTERNAL_OUT_OF_RANGE = '192.168.50.3';
const NODE1_EXTERNAL = '192.168.50.1'; // node1's address on the external link (no range holds it)

/** Long enough for any accepted connection here; a dropped SYN shows as a timeout. */
const ACCEPT_MS = 5000;
const DROP_MS = 1500;

/**
 * Makes `ns` hold `vips` and still send its own connections to them out of eth0 to
 * `gateway`, with the VIP as source: the local table's rule moves behind a rule that
 * routes locally generated packets (iif lo) for the VIPs through table 100; replies
 * arriving on eth0 still find the local table. accept_local lets them in although
 * their source (the VIP) is one of our own addresses.
 */
async function sendOwnVipToNode(ns: string, vips: readonly string[], gateway: string): Promise<void> {
  const run = (argv: string[]) => nsExec(ns, argv, { reject: true });
  for (const k of ['net.ipv4.conf.all.accept_local=1', 'net.ipv4.conf.eth0.accept_local=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0']) {
    await run(['sysctl', '-q', '-w', k]);
  }
  await run(['ip', 'rule', 'add', 'pref', '1000', 'lookup', 'local']);
  await run(['ip', 'rule', 'del', 'pref', '0', 'lookup', 'local']);
  await run(['ip', 'route', 'add', 'default', 'via', gateway, 'dev', 'eth0', 'table', '100']);
  for (const vip of vips) {
    await run(['ip', 'addr', 'add', `${vip}/32`, 'dev', 'eth0']);
    await run(['ip', 'rule', 'add', 'pref', '100', 'iif', 'lo', 'to', `${vip}/32`, 'lookup', '100']);
  }
}

function describeResult(r: ConnectResult): string {
  return r.ok ? `ok from ${r.server} (seen ${r.seenSource})` : r.error;
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`${backend}: loadBalancerSourceRanges implicit allowances, real traffic`, { timeout: 300_000 }, () => {
    let t: Topology;
    let dir: string | undefined;
    let a: Pod;

    const tcp = (ip: string, extra: Partial<Target> = {}): Target => ({ ip, port: 80, proto: 'tcp', timeoutMs: ACCEPT_MS, ...extra });
    const accepted = async (from: { ns: string }, target: Target, what: string) => {
      const r = await connect(from, target);
      assert.ok(r.ok && r.server === 'a', `${what}: expected the endpoint to answer, got ${describeResult(r)}`);
    };
    const dropped = async (from: { ns: string }, target: Target, what: string) => {
      const r = await connect(from, { ...target, timeoutMs: DROP_MS });
      assert.equal(r.ok ? describeResult(r) : r.error, 'timeout', `${what}: expected a silent drop`);
    };

    before(async () => {
      t = await createTopology({ pods: { node1: [{ name: 'a' }], node2: [] } });
      a = t.pod('a');
      await nsExec(t.external.ns, ['ip', 'addr', 'add', `${EXTERNAL_OUT_OF_RANGE}/24`, 'dev', 'eth0'], { reject: true });
      for (const ip of [FW_OUT, FW_IN]) await nsExec(t.node1.ns, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo'], { reject: true });
      await sendOwnVipToNode(t.external.ns, [FW_OUT_SNAT, FW_IN_SNAT], NODE1_EXTERNAL);
      const lb = (name: string, clusterIP: string, ips: string[], ranges: string[]) => [
        service(name, { type: 'LoadBalancer', clusterIP, loadBalancerSourceRanges: ranges, ports: [{ port: 80, targetPort: 8080, nodePort: 30000 + Number(clusterIP.split('.')[3]) }] }, { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } }),
        endpointSlice(name, 'IPv4', [{ ip: a.ipv4, node: a.node }], [{ port: 8080 }]),
      ];
      const objects = [...lb('fw-out', '10.96.0.40', [FW_OUT, FW_OUT_SNAT], ['192.168.50.2/32']), ...lb('fw-in', '10.96.0.41', [FW_IN, FW_IN_SNAT], ['192.168.50.2/32', '172.18.0.0/24'])];
      dir = await applyInNode1(t, backend, objects, 'svcplane-e2e-lbfw-');
    });

    after(() => teardown(t, dir));

    it('a source inside a range is accepted, on both Services', async () => {
      await accepted(t.external, tcp(FW_OUT, { sourceIp: t.external.ipv4 }), 'in-range external -> fw-out');
      await accepted(t.external, tcp(FW_IN, { sourceIp: t.external.ipv4 }), 'in-range external -> fw-in');
    });

    it('a source outside every range is dropped, also where a range holds the node', async () => {
      await dropped(t.external, tcp(FW_OUT, { sourceIp: EXTERNAL_OUT_OF_RANGE }), 'out-of-range external -> fw-out');
      await dropped(t.external, tcp(FW_IN, { sourceIp: EXTERNAL_OUT_OF_RANGE }), 'out-of-range external -> fw-in');
    });

    it('a load balancer that SNATs to its own address (source = the LB IP, from outside): accepted only when a range holds the node', async () => {
      await accepted(t.external, tcp(FW_IN_SNAT, { sourceIp: FW_IN_SNAT }), 'external as fw-in\'s VIP -> fw-in');
      await dropped(t.external, tcp(FW_OUT_SNAT, { sourceIp: FW_OUT_SNAT }), 'external as fw-out\'s VIP -> fw-out');
      // The same host from an address outside the ranges is still refused on that VIP.
      await dropped(t.external, tcp(FW_IN_SNAT, { sourceIp: EXTERNAL_OUT_OF_RANGE }), 'out-of-range external -> fw-in (second VIP)');
    });

    it('the node looping back to its own VIP (source = the LB IP): accepted only when a range holds the node', async () => {
      await accepted(t.node1, tcp(FW_IN), 'node1 -> fw-in, source the VIP');
      await dropped(t.node1, tcp(FW_OUT), 'node1 -> fw-out, source the VIP');
    });

    it('the node from its own addresses: only a range lets it through (no implicit node allowance)', async () => {
      await accepted(t.node1, tcp(FW_IN, { sourceIp: t.node1.ipv4 }), 'node1 (172.18.0.1, in range) -> fw-in');
      await dropped(t.node1, tcp(FW_OUT, { sourceIp: t.node1.ipv4 }), 'node1 (172.18.0.1, no range) -> fw-out');
      await dropped(t.node1, tcp(FW_IN, { sourceIp: NODE1_EXTERNAL }), 'node1 (192.168.50.1, no range) -> fw-in');
    });
  });
}
