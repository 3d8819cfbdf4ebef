// Self-test of the e2e test bed (test/e2e/lib, test/e2e/fixtures): builds the topology,
// checks plain pod/node/external connectivity on both families, then loads a hand-written
// nft DNAT ruleset (a table of this test's own, in node1 only) to prove that the node
// settings make Service-style traffic work: ip_forward, bridge-nf-call-*, hairpin,
// REJECT seen as 'refused', DROP as 'timeout'. Finally checks that nothing is left behind,
// also when a test process throws, is terminated, or is SIGKILLed.
//
// Must run as root (CI does); without root or tools it fails with the reason.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { NODE_PLAN, EXTERNAL_LINK } from './lib/addresses.js';
import { connect, connectMany, continuousTraffic, type ConnectResult, type Proto } from './lib/client.js';
import { ip, listNetns, liveNetns, nsExec, RUN_PREFIX, sweepStaleNetns, getSysctl } from './lib/netns.js';
import { nftText, nodeExec } from './lib/node-exec.js';
import { createTopology, withTopology, type Topology } from './lib/topology.js';
import { until } from './lib/wait.js';

const CRASH_CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
// SCTP runs over raw sockets (fixtures/sctp.py): the kernel has SCTP NAT but no SCTP sockets.
const PROTOS: readonly Proto[] = ['tcp', 'udp', 'sctp'];
const FAMILIES = ['ipv4', 'ipv6'] as const;

/** Asserts a successful answer from `server` that saw `source`; prints the whole result otherwise. */
function assertAnswer(r: ConnectResult, server: string, source: string, what: string): void {
  assert.ok(r.ok, `${what}: expected an answer from ${server}, got ${JSON.stringify(r)}`);
  assert.equal(r.server, server, `${what}: answered by the wrong server`);
  assert.equal(r.seenSource, source, `${what}: server saw the wrong client address`);
}

function assertFailure(r: ConnectResult, error: string, what: string): void {
  assert.equal(r.ok, false, `${what}: expected '${error}', got an answer ${JSON.stringify(r)}`);
  assert.equal(r.ok === false && r.error, error, `${what}: ${JSON.stringify(r)}`);
}

/** The test's own nft table in node1: DNAT, masquerade, REJECT and DROP, written by hand. */
function selfTestRuleset(t: Topology): string {
  const a = t.pod('n1p1'); // endpoint on node1
  const r = t.pod('n2p1'); // endpoint on node2
  return `
table inet svp_testbed {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump services
  }
  chain output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain services {
    ip daddr 10.96.0.10 meta l4proto { tcp, udp, sctp } th dport 80 jump svc_local
    ip6 daddr fd00:96::10 meta l4proto { tcp, udp, sctp } th dport 80 jump svc_local6
    ip daddr ${EXTERNAL_LINK.node1IPv4} meta l4proto { tcp, udp, sctp } th dport 30080 dnat ip to ${r.ipv4}:80
    ip daddr ${EXTERNAL_LINK.node1IPv4} meta l4proto { tcp, udp, sctp } th dport 30081 meta mark set 0x4000 dnat ip to ${r.ipv4}:80
    ip6 daddr ${EXTERNAL_LINK.node1IPv6} meta l4proto { tcp, udp, sctp } th dport 30080 dnat ip6 to [${r.ipv6}]:80
    ip daddr 10.96.0.20 tcp dport 80 numgen random mod 2 vmap { 0 : goto ep_local, 1 : goto ep_remote }
  }
  chain svc_local {
    ip saddr ${a.ipv4} meta mark set 0x4000
    meta l4proto { tcp, udp, sctp } dnat ip to ${a.ipv4}:80
  }
  chain svc_local6 {
    ip6 saddr ${a.ipv6} meta mark set 0x4000
    meta l4proto { tcp, udp, sctp } dnat ip6 to [${a.ipv6}]:80
  }
  chain ep_local {
    meta l4proto { tcp, udp, sctp } dnat ip to ${a.ipv4}:80
  }
  chain ep_remote {
    meta l4proto { tcp, udp, sctp } dnat ip to ${r.ipv4}:80
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    meta mark 0x4000 masquerade
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr 10.96.0.11 reject
    ip6 daddr fd00:96::11 reject
    ip daddr 10.96.0.12 drop
    ip6 daddr fd00:96::12 drop
    ip daddr 10.96.0.14 reject with icmp type host-unreachable
    ip6 daddr fd00:96::14 reject with icmpv6 type addr-unreachable
  }
}
`;
}

describe('e2e test bed', { concurrency: 1, timeout: 300_000 }, () => {
  let t: Topology;
  let ours: string[] = [];

  before(async () => {
    t = await createTopology({ pods: { node1: 2, node2: 1 }, serverPorts: { tcp: [80, 8080], udp: [80, 8080], sctp: [80, 8080] } });
    ours = t.namespaces();
  });

  after(async () => {
    await t?.destroy();
  });

  it('builds node1, node2, the external host and the pods, with the documented addresses', async () => {
    assert.equal(t.node1.ipv4, '172.18.0.1');
    assert.equal(t.node2.ipv6, 'fd00:18::2');
    assert.deepEqual(
      t.pods.map((p) => [p.name, p.node, p.ipv4, p.ipv6]),
      [
        ['n1p1', 'node1', '10.244.1.10', 'fd00:244:1::10'],
        ['n1p2', 'node1', '10.244.1.11', 'fd00:244:1::11'],
        ['n2p1', 'node2', '10.244.2.10', 'fd00:244:2::10'],
      ],
    );
    assert.deepEqual(t.node1.context, {
      name: 'node1',
      addresses: ['172.18.0.1', 'fd00:18::1', '192.168.50.1', 'fd00:50::1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'],
    });
    const all = await listNetns();
    for (const ns of ours) {
      assert.ok(ns.startsWith(`${RUN_PREFIX}`), `${ns} has this run's prefix`);
      assert.ok(all.includes(ns), `${ns} exists`);
    }
    assert.equal(ours.length, 6);
  });

  it('sets the node sysctls explicitly and hairpin on every bridge port', async () => {
    for (const node of [t.node1, t.node2]) {
      for (const [key, want] of [
        ['net.ipv4.ip_forward', '1'],
        ['net.ipv6.conf.all.forwarding', '1'],
        ['net.bridge.bridge-nf-call-iptables', '1'],
        ['net.bridge.bridge-nf-call-ip6tables', '1'],
        ['net.ipv4.conf.all.rp_filter', '0'],
        ['net.ipv4.conf.all.route_localnet', '1'],
        ['net.ipv4.icmp_ratelimit', '0'],
      ] as const) {
        assert.equal(await getSysctl(node.ns, key), want, `${node.name} ${key}`);
      }
    }
    for (const pod of t.pods) {
      const { stdout } = await ip(['-n', t.nodeHost(pod.node).ns, '-d', 'link', 'show', pod.hostIfname]);
      assert.match(stdout, /master br0/, `${pod.hostIfname} is a br0 port`);
      assert.match(stdout, /hairpin on/, `${pod.hostIfname} has hairpin on`);
    }
  });

  it('pod -> pod on the same node, both families, TCP, UDP and SCTP, sees the real client address', async () => {
    const [a, b] = [t.pod('n1p1'), t.pod('n1p2')];
    for (const fam of FAMILIES) {
      for (const proto of PROTOS) {
        assertAnswer(await connect(a, { ip: b[fam], port: 80, proto }), 'n1p2', a[fam], `n1p1->n1p2 ${fam} ${proto}`);
        assertAnswer(await connect(b, { ip: a[fam], port: 8080, proto }), 'n1p1', b[fam], `n1p2->n1p1 ${fam} ${proto}`);
      }
    }
  });

  it('pod -> pod across nodes (routed over the node link), both directions and families', async () => {
    const [a, r] = [t.pod('n1p1'), t.pod('n2p1')];
    for (const fam of FAMILIES) {
      for (const proto of PROTOS) {
        assertAnswer(await connect(a, { ip: r[fam], port: 80, proto }), 'n2p1', a[fam], `n1p1->n2p1 ${fam} ${proto}`);
        assertAnswer(await connect(r, { ip: a[fam], port: 80, proto }), 'n1p1', r[fam], `n2p1->n1p1 ${fam} ${proto}`);
      }
    }
  });

  it('external host -> pods on node1 and node2, not masqueraded', async () => {
    for (const pod of [t.pod('n1p1'), t.pod('n2p1')]) {
      for (const fam of FAMILIES) {
        for (const proto of PROTOS) {
          assertAnswer(await connect(t.external, { ip: pod[fam], port: 80, proto }), pod.name, t.external[fam], `external->${pod.name} ${fam} ${proto}`);
        }
      }
    }
  });

  it('classifies a closed port as refused (TCP RST, UDP ICMP port unreachable, SCTP ABORT)', async () => {
    const b = t.pod('n1p2');
    for (const fam of FAMILIES) {
      for (const proto of PROTOS) {
        assertFailure(await connect(t.pod('n1p1'), { ip: b[fam], port: 81, proto }), 'refused', `closed ${fam} ${proto}`);
      }
    }
  });

  it('a Service address with no rule at all times out (node1 routes it to the external host, which drops it silently)', async () => {
    assertFailure(await connect(t.pod('n1p1'), { ip: '10.96.0.13', port: 80, timeoutMs: 300 }), 'timeout', 'no rule');
  });

  describe('with a hand-written nft DNAT table in node1', () => {
    before(async () => {
      await nodeExec(t, ['nft', '-f', '-'], { input: selfTestRuleset(t) });
    });

    it('loaded only in node1 (node2 and the pods have no table)', async () => {
      assert.match(await nftText(t), /table inet svp_testbed/);
      assert.doesNotMatch(await nftText(t, { node: 'node2' }), /svp_testbed/);
      assert.equal((await nsExec(t.pod('n1p1').ns, ['nft', 'list', 'ruleset'])).stdout.trim(), '');
    });

    it('pod -> VIP -> other pod on the same bridge (needs ip_forward and bridge-nf-call-*)', async () => {
      const [a, b] = [t.pod('n1p1'), t.pod('n1p2')];
      for (const proto of PROTOS) {
        assertAnswer(await connect(b, { ip: '10.96.0.10', port: 80, proto }), 'n1p1', b.ipv4, `VIP ${proto}`);
        assertAnswer(await connect(b, { ip: 'fd00:96::10', port: 80, proto }), 'n1p1', b.ipv6, `VIP6 ${proto}`);
      }
      assert.equal(a.node, 'node1');
    });

    it('without bridge-nf-call-iptables the same-bridge reply skips conntrack and the connection fails', async () => {
      const b = t.pod('n1p2');
      await nodeExec(t, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
      try {
        const r = await connect(b, { ip: '10.96.0.10', port: 80, timeoutMs: 500 });
        assert.equal(r.ok, false, `expected a failure without bridge-nf, got ${JSON.stringify(r)}`);
      } finally {
        await nodeExec(t, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
      }
      assertAnswer(await connect(b, { ip: '10.96.0.10', port: 80 }), 'n1p1', b.ipv4, 'restored');
    });

    it('a pod reaches itself through the VIP (hairpin + masquerade to the bridge address)', async () => {
      const a = t.pod('n1p1');
      for (const proto of PROTOS) {
        assertAnswer(await connect(a, { ip: '10.96.0.10', port: 80, proto }), 'n1p1', NODE_PLAN.node1.bridgeIPv4, `hairpin ${proto}`);
        assertAnswer(await connect(a, { ip: 'fd00:96::10', port: 80, proto }), 'n1p1', NODE_PLAN.node1.bridgeIPv6, `hairpin6 ${proto}`);
      }
    });

    it('without hairpin on its bridge port the pod cannot reach itself through the VIP', async () => {
      const a = t.pod('n1p1');
      await ip(['-n', t.node1.ns, 'link', 'set', a.hostIfname, 'type', 'bridge_slave', 'hairpin', 'off']);
      try {
        const r = await connect(a, { ip: '10.96.0.10', port: 80, timeoutMs: 500 });
        assert.equal(r.ok, false, `expected a failure without hairpin, got ${JSON.stringify(r)}`);
      } finally {
        await ip(['-n', t.node1.ns, 'link', 'set', a.hostIfname, 'type', 'bridge_slave', 'hairpin', 'on']);
      }
    });

    it("node1's own traffic to the VIP goes through the output hook", async () => {
      // The source was chosen by the route to the VIP (node1's default route, out the
      // external link) before DNAT, so the pod sees 192.168.50.1.
      assertAnswer(await connect(t.node1, { ip: '10.96.0.10', port: 80 }), 'n1p1', EXTERNAL_LINK.node1IPv4, 'node1->VIP');
    });

    it('external host -> node1:30080 -> pod on node2, with and without masquerade', async () => {
      for (const proto of PROTOS) {
        assertAnswer(await connect(t.external, { ip: EXTERNAL_LINK.node1IPv4, port: 30080, proto }), 'n2p1', t.external.ipv4, `nodeport ${proto}`);
        assertAnswer(await connect(t.external, { ip: EXTERNAL_LINK.node1IPv6, port: 30080, proto }), 'n2p1', t.external.ipv6, `nodeport6 ${proto}`);
        assertAnswer(await connect(t.external, { ip: EXTERNAL_LINK.node1IPv4, port: 30081, proto }), 'n2p1', t.node1.ipv4, `nodeport masq ${proto}`);
      }
    });

    it('REJECT is seen as refused, every time (no ICMP rate limit), DROP as timeout', async () => {
      const b = t.pod('n1p2');
      for (const proto of PROTOS) {
        const many = await connectMany(b, { ip: '10.96.0.11', port: 80, proto }, 20);
        assert.deepEqual(many.counts, {});
        assert.deepEqual([...new Set(many.failures.map((f) => f.error))], ['refused'], `REJECT ${proto}`);
        assertFailure(await connect(b, { ip: 'fd00:96::11', port: 80, proto }), 'refused', `REJECT6 ${proto}`);
        assertFailure(await connect(b, { ip: '10.96.0.12', port: 80, proto, timeoutMs: 300 }), 'timeout', `DROP ${proto}`);
        assertFailure(await connect(b, { ip: 'fd00:96::12', port: 80, proto, timeoutMs: 300 }), 'timeout', `DROP6 ${proto}`);
      }
    });

    it('with the default ICMP rate limit, repeated REJECTs start to look like timeouts (why the test bed disables it)', async () => {
      const b = t.pod('n1p2');
      await nodeExec(t, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=1000']);
      try {
        const many = await connectMany(b, { ip: '10.96.0.11', port: 80, proto: 'udp', timeoutMs: 200 }, 12);
        const errors = many.failures.map((f) => f.error);
        assert.equal(errors.length, 12);
        assert.ok(errors.includes('timeout'), `expected throttled rejections, got ${errors.join(',')}`);
      } finally {
        await nodeExec(t, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0']);
      }
    });

    it('an ICMP host/address unreachable is seen as unreachable by TCP (UDP sockets ignore it: timeout)', async () => {
      const b = t.pod('n1p2');
      assertFailure(await connect(b, { ip: '10.96.0.14', port: 80 }), 'unreachable', 'host-unreachable');
      assertFailure(await connect(b, { ip: 'fd00:96::14', port: 80 }), 'unreachable', 'addr-unreachable');
      // Linux reports only "hard" ICMP errors (port/protocol unreachable) to a UDP socket
      // without IP_RECVERR, which Node does not set.
      assertFailure(await connect(b, { ip: '10.96.0.14', port: 80, proto: 'udp', timeoutMs: 300 }), 'timeout', 'udp host-unreachable');
    });

    it('connectMany counts answers per endpoint (random DNAT over a local and a remote pod)', async () => {
      const many = await connectMany(t.pod('n1p2'), { ip: '10.96.0.20', port: 80 }, 40, { concurrency: 4 });
      assert.deepEqual(many.failures, []);
      assert.deepEqual(many.servers, ['n1p1', 'n2p1']);
      assert.equal(many.counts.n1p1! + many.counts.n2p1!, 40);
    });

    it('continuousTraffic runs until stopped and returns every result', async () => {
      const run = continuousTraffic(t.pod('n1p2'), { ip: '10.96.0.10', port: 80 }, 10);
      // Bounded generously: how fast attempts come on a loaded machine is not the point.
      await until('10 finished attempts', () => run.snapshot().length >= 10, 30_000, 20);
      const results = await run.stop();
      assert.ok(results.length >= 10, `${results.length} attempts`);
      assert.deepEqual(results.filter((r) => !r.result.ok), []);
      for (let i = 1; i < results.length; i++) assert.ok(results[i]!.at >= results[i - 1]!.at);
    });
  });

  it('adds and removes a pod on the live topology (and a new pod may reuse its addresses)', async () => {
    const client = t.pod('n1p1');
    const pod = await t.addPod('node2', { name: 'extra' });
    assert.equal(pod.ipv4, '10.244.2.11');
    for (const fam of FAMILIES) assertAnswer(await connect(client, { ip: pod[fam], port: 80 }), 'extra', client[fam], `to new pod ${fam}`);
    await t.removePod(pod);
    assert.ok(!(await listNetns()).includes(pod.ns), 'its namespace is gone');
    assert.throws(() => t.pod('extra'), /no pod 'extra'/);
    const gone = await connect(client, { ip: pod.ipv4, port: 80, timeoutMs: 500 });
    assert.equal(gone.ok, false);
    // Same addresses, new MAC: reachable at once because removePod flushed the old neighbour.
    const again = await t.addPod('node2', { name: 'extra2', index: pod.index });
    assert.equal(again.ipv4, pod.ipv4);
    for (const fam of FAMILIES) assertAnswer(await connect(client, { ip: again[fam], port: 80, timeoutMs: 1000 }), 'extra2', client[fam], `to re-added pod ${fam}`);
    await t.removePod('extra2');
  });

  it('tears down every namespace and process it created', async () => {
    const pids = t.pods.flatMap((p) => p.server?.pids ?? []);
    assert.equal(pids.length, 6, 'a TCP/UDP and an SCTP server per pod');
    await t.destroy();
    const left = (await listNetns()).filter((ns) => ns.startsWith(t.prefix));
    assert.deepEqual(left, []);
    assert.deepEqual(liveNetns().filter((ns) => ns.startsWith(t.prefix)), []);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `server ${pid} is gone`);
    await t.destroy(); // idempotent
  });
});

describe('e2e test bed cleanup on failure', { concurrency: 1, timeout: 300_000 }, () => {
  it('withTopology tears down when the test body throws', async () => {
    let seen: string[] = [];
    await assert.rejects(
      withTopology({ pods: { node1: 1, node2: 0 } }, async (topo) => {
        seen = topo.namespaces();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(seen.length, 4);
    const all = await listNetns();
    assert.deepEqual(seen.filter((ns) => all.includes(ns)), []);
  });

  it('a test process that is terminated, or dies of an uncaught exception, removes its namespaces on the way out', async () => {
    const [terminated, thrown] = await Promise.all([runCrashChild('wait', 'SIGTERM'), runCrashChild('throw', null)]);
    const all = await listNetns();
    assert.equal(terminated.length, 4);
    assert.equal(thrown.length, 4);
    assert.deepEqual([...terminated, ...thrown].filter((ns) => all.includes(ns)), []);
  });

  it('the namespaces of a SIGKILLed run are swept by the next run (and a live run is left alone)', async () => {
    const killed = await runCrashChild('wait', 'SIGKILL');
    const before = await listNetns();
    assert.deepEqual(killed.filter((ns) => !before.includes(ns)), [], 'SIGKILL leaves them behind');
    // A namespace named for a live process other than us (our parent) must survive the sweep.
    const foreign = `svp-${process.ppid}-testbed-selftest-live`;
    await ip(['netns', 'add', foreign]);
    try {
      const swept = await sweepStaleNetns();
      assert.deepEqual(swept.filter((ns) => killed.includes(ns)).sort(), [...killed].sort());
      const after = await listNetns();
      assert.deepEqual(killed.filter((ns) => after.includes(ns)), []);
      assert.ok(after.includes(foreign), 'a live run is not swept');
    } finally {
      await ip(['netns', 'del', foreign], { reject: false });
    }
  });
});

/** Runs fixtures/crash-child.ts, kills it with `signal` once its topology exists (or lets it throw), returns its namespaces. */
async function runCrashChild(mode: 'wait' | 'throw', signal: NodeJS.Signals | null): Promise<string[]> {
  // Without our runner's NODE_TEST_CONTEXT: the child is a plain script, not a test file.
  const child = execa(process.execPath, ['--import', 'tsx', CRASH_CHILD, mode], { reject: false, buffer: { stdout: false }, env: { NODE_TEST_CONTEXT: undefined } });
  const namespaces = await new Promise<string[]>((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) {
        try {
          resolve((JSON.parse(line) as { namespaces: string[] }).namespaces);
        } catch (err) {
          reject(err);
        }
      }
    });
    void child.then((res) => reject(new Error(`crash child exited early: ${res.exitCode} ${String(res.stderr)}`)));
  });
  if (signal) child.kill(signal);
  const res = await child;
  if (signal === 'SIGTERM') assert.equal(res.exitCode, 143, String(res.stderr));
  if (signal === null) assert.notEqual(res.exitCode, 0);
  return namespaces;
}
