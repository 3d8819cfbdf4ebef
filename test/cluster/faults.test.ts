// Faults under continuous traffic on a 3-node cluster (nftables, iptables, nftables):
// a rolling restart of every agent as a DaemonSet update does it, the API server down for
// 30 s, a node's rules deleted, endpoints churned on several nodes at once. Clients on
// every node (pod -> ClusterIP) and the external client (-> NodePort of every node) open
// a new connection every 50 ms throughout; none may fail while its endpoints are alive.
// The userspace backend is left out: it relays connections in its own process, so a
// restart of its agent drops them by design.
// The nodes run with nf_conntrack_tcp_be_liberal=1 (KubeProxyConfiguration
// conntrack.tcpBeLiberal): the agents set it, read it back as a node fact, and the iptables
// node then renders no INVALID drop, as kube-proxy does (kubernetes issue 117924). That
// path is exercised here under traffic; traffic.test.ts keeps the default (drop rendered).

import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { connect, continuousTraffic, type TimedResult, type TrafficRun } from '../e2e/lib/client.js';
import { startEchoServer, type EchoServer } from '../e2e/lib/servers.js';
import { sleep, until } from '../e2e/lib/wait.js';
import { createCluster, type Cluster } from './cluster.js';
import { flushRules, rulesMention, rulesText } from './kernel.js';
import { nsExec } from '../e2e/lib/netns.js';
import { endpointSlice, service, type ClusterEndpoint } from './objects.js';
import type { ClusterPod } from './testbed.js';
import { describeFailures, serversOf, waitServers } from './traffic.js';

const VIP = '10.96.0.10';
const NODE_PORT = 30090;
const PORTS = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
const SYNC_PERIOD_S = 10;

describe('faults under continuous traffic on a 3-node cluster', { timeout: 600_000 }, () => {
  let c: Cluster;
  let runs: { what: string; run: TrafficRun }[] = [];
  /** Wall clock when the current test's traffic started (attempts' `at` is relative to it). */
  let trafficStart = 0;
  /** Servers restarted by the churn test (the testbed's own ones die with their namespaces). */
  const replacements: EchoServer[] = [];
  const ep = (p: ClusterPod, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({ ip: p.ip, node: p.node, zone: c.bed.node(p.node).zone, ...extra });
  const setEndpoints = (eps: readonly ClusterEndpoint[]) => c.api.upsert('endpointslices', endpointSlice('live', eps, PORTS));
  const allNames = () => c.bed.pods.map((p) => p.name);

  /** Every node's rules mention (or no longer mention) these endpoint addresses. */
  const waitRules = async (ips: readonly string[], present: boolean, timeoutMs = 90_000) => {
    let behind: string[] = [];
    await until(
      `${ips.join(', ')} ${present ? 'in' : 'gone from'} every node's rules`,
      async () => {
        behind = [];
        for (const n of c.bed.nodes) for (const ip of ips) if ((await rulesMention(n.ns, c.backendOf(n.name), ip)) !== present) behind.push(n.name);
        return behind.length === 0;
      },
      timeoutMs,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; behind: ${[...new Set(behind)].map((n) => c.agent(n).tail(8)).join('\n')}`);
    });
  };

  before(async () => {
    c = await createCluster({ nodes: 3, backends: ['nftables', 'iptables', 'nftables'], syncPeriod: `${SYNC_PERIOD_S}s`, conntrackTCPBeLiberal: true });
    await c.api.upsert('services', service('live', { type: 'NodePort', clusterIP: VIP, clusterIPs: [VIP], ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP', nodePort: NODE_PORT }] }));
    await setEndpoints(c.bed.pods.map((p) => ep(p)));
    for (const n of c.bed.nodes) await waitServers(c.bed.podsOn(n.name)[0]!, { ip: VIP, port: 80 }, allNames(), 120_000);
    // The agents set the sysctl, read it back, and the iptables node renders no INVALID drop.
    for (const n of c.bed.nodes) {
      assert.equal((await nsExec(n.ns, ['sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_be_liberal'])).stdout.trim(), '1', `${n.name}: be_liberal`);
      assert.doesNotMatch(await rulesText(n.ns, c.backendOf(n.name)), /INVALID|ct state invalid/i, `${n.name} (${c.backendOf(n.name)}): no INVALID drop`);
    }
  });
  after(async () => {
    await Promise.all(replacements.map((s) => s.stop()));
    await c?.destroy();
  });

  beforeEach(async () => {
    // A test that failed half way may have left a node without its agent.
    for (const n of c.bed.nodes) if (!c.agents.get(n.name)?.running()) await c.startAgent(n.name);
    trafficStart = Date.now();
    runs = [
      ...c.bed.nodes.map((n) => ({ what: `${c.bed.podsOn(n.name)[0]!.name} -> ${VIP}`, run: continuousTraffic(c.bed.podsOn(n.name)[0]!, { ip: VIP, port: 80, timeoutMs: 3000 }, 50) })),
      ...c.bed.nodes.map((n) => ({ what: `external -> ${n.name}:${NODE_PORT}`, run: continuousTraffic(c.bed.external, { ip: n.ip, port: NODE_PORT, timeoutMs: 3000 }, 50) })),
    ];
  });
  afterEach(async () => {
    await Promise.all(runs.map((r) => r.run.stop()));
  });

  /** Stops the traffic and asserts that no attempt failed and every live pod answered. */
  async function assertNoFailures(servers = allNames(), skip: (what: string) => boolean = () => false): Promise<void> {
    const done = await Promise.all(runs.map(async (r) => ({ what: r.what, results: await r.run.stop() })));
    const failedSomewhere = done.some(({ what, results }) => !skip(what) && results.some((x) => !x.result.ok));
    const kernel = failedSomewhere ? await conntrackStats() : '';
    for (const { what, results } of done) {
      if (skip(what)) continue;
      assert.ok(results.length > 20, `${what}: only ${results.length} attempts`);
      const failed = results.filter((x) => !x.result.ok);
      if (failed.length) assert.fail(`${what}: ${describeFailures(results)}\n${answeredAround(results)}\n${await conntrackOf(failed)}\n${whatAgentsDid(results)}\n${kernel}`);
      assert.deepEqual(serversOf(results), [...servers].sort(), `${what}: servers seen`);
    }
  }

  /** When attempts failed: each node's conntrack statistics (invalid, drop, insert_failed per CPU). */
  async function conntrackStats(): Promise<string> {
    const out: string[] = [];
    for (const n of c.bed.nodes) out.push(`${n.name} conntrack -S:\n${(await nsExec(n.ns, ['conntrack', '-S']).catch((e: Error) => ({ stdout: e.message }))).stdout.trim()}`);
    return out.join('\n');
  }

  /**
   * When attempts failed: each failed connection's conntrack entry on every node, matched
   * by its local port (the client's source port), to see which endpoint the SYN was sent
   * to and how far the handshake got ([UNREPLIED]: no answer came back through that node).
   */
  async function conntrackOf(failed: readonly TimedResult[]): Promise<string> {
    const out: string[] = [];
    for (const f of failed.slice(0, 8)) {
      const port = f.result.localPort;
      if (!port) continue;
      for (const n of c.bed.nodes) {
        const r = await nsExec(n.ns, ['conntrack', '-L', '-p', 'tcp', '--sport', String(port)], { reject: false });
        for (const line of r.stdout.trim().split('\n').filter(Boolean)) out.push(`port ${port} on ${n.name}: ${line}`);
      }
    }
    return out.length ? out.join('\n') : 'no conntrack entry for the failed ports on any node';
  }

  /** Which servers answered in the 2 s around the failures, in order (`-` a failure). */
  function answeredAround(results: readonly TimedResult[]): string {
    const failed = results.filter((x) => !x.result.ok);
    const from = failed[0]!.at - 2000;
    const to = failed[failed.length - 1]!.at + 2000;
    const seen = results.filter((x) => x.at >= from && x.at <= to).map((x) => (x.result.ok ? x.result.server : '-'));
    return `answered from @${Math.round(from)}ms to @${Math.round(to)}ms: ${seen.join(' ')}`;
  }

  /**
   * When attempts failed: the machine's load and every agent's log lines from 3 s before
   * the first failed attempt to 4 s after the last (wall clock), to tell a sync or a
   * restart on some node from a stall of the whole machine.
   */
  function whatAgentsDid(results: readonly TimedResult[]): string {
    const failed = results.filter((x) => !x.result.ok);
    if (!failed.length) return '';
    const from = trafficStart + failed[0]!.at - 3000;
    const to = trafficStart + failed[failed.length - 1]!.at + 4000;
    const lines = [`load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; failures from ${new Date(from + 3000).toISOString()}`];
    for (const a of c.agents.values()) {
      const inWindow = a.logs.filter((l) => {
        const m = /"time":(\d+)/.exec(l);
        return m && Number(m[1]) >= from && Number(m[1]) <= to;
      });
      lines.push(`${a.node} (${a.backend}): ${inWindow.length ? '' : 'no log lines in the window'}`, ...inWindow.slice(-20));
    }
    return lines.join('\n');
  }

  it('rolling restart of every agent, one node at a time: SIGTERM, exit 0, a new agent, ready, next node', async () => {
    for (const n of c.bed.nodes) {
      const exit = await c.stopAgent(n.name);
      assert.deepEqual(exit, { exitCode: 0, signal: undefined }, `${n.name}'s agent on SIGTERM\n${c.agent(n.name).tail()}`);
      await sleep(1000); // the gap between the old pod gone and the new one started
      const fresh = await c.startAgent(n.name);
      assert.ok(fresh.running(), `${n.name}: the new agent runs`);
      await sleep(1000);
    }
    await assertNoFailures();
  });

  it('the API server unreachable for 30 s, then back on the same address with the same objects (and one change)', async () => {
    await c.api.down();
    // Meanwhile the agents keep their last state: periodic syncs (when a sync is shorter
    // than the sync period) rewrite nothing, and traffic keeps flowing.
    await sleep(30_000);
    for (const a of c.agents.values()) assert.ok(a.running(), `${a.node}'s agent runs with the API server down\n${a.tail()}`);
    const gone = c.bed.pods[0]!;
    await c.api.up();
    // A change made after it came back reaches every node (the agents' backoff is capped at 30 s).
    await setEndpoints(c.bed.pods.filter((p) => p !== gone).map((p) => ep(p)));
    await waitRules([gone.ip], false, 90_000);
    await setEndpoints(c.bed.pods.map((p) => ep(p)));
    await waitRules([gone.ip], true);
    await sleep(1000);
    await assertNoFailures();
    for (const a of c.agents.values()) assert.ok(a.running(), `${a.node}'s agent still runs`);
  });

  /**
   * The connections node's client made while its rules were gone were never DNATed, and
   * conntrack keeps that decision for any later connection from the same client port (a
   * SYN_SENT entry lives 120 s, renewed by each retry). The agent deletes those entries
   * after the repair, so a connection from each of those ports now reaches a server. With
   * kube-proxy they time out for minutes (kubernetes issue 48719); here they once failed
   * the churn test that came after this one.
   * Only iptables is sure to leave such entries: `iptables -F -X` keeps the nat base chains
   * hooked, so every connection made meanwhile is bound to no NAT. Deleting an nftables
   * table unhooks its chains too: no binding is made, and a connection whose SYN is retried
   * after the repair gets DNATed (so none may have timed out there).
   */
  async function assertStalePortsWork(node: string): Promise<void> {
    const client = c.bed.podsOn(node)[0]!;
    const run = runs.find((r) => r.what === `${client.name} -> ${VIP}`)!.run;
    // Every attempt made before now has ended once one made 3.5 s later has (they time out after 3 s).
    const now = Date.now() - trafficStart;
    await until(`${node}: the attempts made while its rules were gone ended`, () => run.snapshot().some((x) => x.at >= now + 3500), 60_000, 100);
    const ports = [...new Set(run.snapshot().flatMap((x) => (!x.result.ok && x.result.error === 'timeout' && x.result.localPort ? [x.result.localPort] : [])))].slice(0, 8);
    if (c.backendOf(node) === 'iptables') assert.ok(ports.length > 0, `${node}: connections timed out while its rules were gone`);
    if (ports.length === 0) return;
    let last = '';
    await until(
      `${node}: connections from the ${ports.length} client ports used while its rules were gone`,
      async () => {
        const rs = await Promise.all(ports.map((sourcePort) => connect(client, { ip: VIP, port: 80, timeoutMs: 1000, sourcePort })));
        last = rs.map((r, i) => `${ports[i]}: ${r.ok ? r.server : r.error}`).join(', ');
        return rs.every((r) => r.ok);
      },
      30_000,
      200,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last: ${last}\n${c.agent(node).tail(8)}`);
    });
  }

  it("a node's rules deleted: its agent puts them back within its sync period; the other nodes are unaffected", async () => {
    for (const victim of [c.bed.nodes[0]!, c.bed.nodes[1]!]) {
      const backend = c.backendOf(victim.name);
      const probe = c.bed.pods[c.bed.pods.length - 1]!.ip;
      await flushRules(victim.ns, backend);
      assert.equal(await rulesMention(victim.ns, backend, probe), false, `${victim.name} (${backend}): rules deleted`);
      // The next periodic sync reads the kernel back and repairs it: within one sync period
      // plus what a sync itself takes here (seconds when the machine is loaded), the
      // repairing sync included (24 s once at load ~20, where the ones before took 3.7 s).
      const agent = c.agent(victim.name);
      const took = await until(`${victim.name} (${backend}) repaired`, () => rulesMention(victim.ns, backend, probe), (SYNC_PERIOD_S + 60) * 1000, 100);
      const repairedAt = Date.now();
      await until(`${victim.name}: the repairing sync logged`, () => agent.syncs.some((s) => s.time >= repairedAt - 1000), 60_000, 50);
      const longest = Math.max(...agent.syncs.map((s) => s.ms));
      assert.ok(took < SYNC_PERIOD_S * 1000 + 2 * longest + 2000, `${victim.name} repaired in ${Math.round(took)} ms (sync period ${SYNC_PERIOD_S} s, longest sync ${longest} ms)\n${agent.tail()}`);
      await waitServers(c.bed.podsOn(victim.name)[0]!, { ip: VIP, port: 80 }, allNames(), 60_000);
      await assertStalePortsWork(victim.name);
    }
    // The flushed nodes' own traffic failed while their rules were gone; the third node's
    // clients, and its NodePort, never did.
    const third = c.bed.nodes[2]!;
    await assertNoFailures(allNames(), (what) => !what.includes(c.bed.podsOn(third.name)[0]!.name) && !what.includes(`${third.name}:`));
  });

  // This case's rare timeouts (2026-12-03 via the iptables node's NodePort; CI at 8173ee2,
  // 3 from the iptables node's pod to the ClusterIP) came from the test before it: the
  // connections made while a node's rules were flushed left conntrack entries that were
  // never DNATed, and a connection here that happened to reuse one of those client ports
  // went nowhere (its entry on the node: SYN_SENT [UNREPLIED], the reply from the ClusterIP
  // itself). The agent now deletes such entries after a repair (src/agent/unnated-conntrack.ts;
  // the flush case above checks it). A failed connection's report names its conntrack entry
  // on every node.
  it('endpoints churned on several nodes at once, each removal graceful: terminating, removed from every node, then stopped', async () => {
    const pods = c.bed.pods;
    const live = new Set(pods);
    for (let round = 0; round < 2; round++) {
      // Two pods on two different nodes go away together.
      const victims = [c.bed.podsOn(c.bed.nodes[round % 3]!.name)[round % 2]!, c.bed.podsOn(c.bed.nodes[(round + 1) % 3]!.name)[(round + 1) % 2]!];
      await setEndpoints(pods.map((p) => ep(p, victims.includes(p) ? { ready: false, serving: true, terminating: true } : {})));
      await sleep(300);
      for (const v of victims) live.delete(v);
      await setEndpoints([...live].map((p) => ep(p)));
      await waitRules(victims.map((v) => v.ip), false);
      // Only now does the pod stop (its server goes away), as after a graceful termination.
      for (const v of victims) {
        const s = replacements.find((r) => r.ns === v.ns && r.running()) ?? v.server;
        await s.stop();
      }
      await sleep(500);
      // New pods in their place (same addresses, a new server), then ready again.
      for (const v of victims) replacements.push(await startEchoServer({ ns: v.ns }, { name: v.name, families: [4], tcp: [80], udp: [80] }));
      for (const v of victims) live.add(v);
      await setEndpoints([...live].map((p) => ep(p)));
      await waitRules(victims.map((v) => v.ip), true);
    }
    // Every client reaches every pod again, the returned ones included. Waited for, not slept: each
    // connection picks one of six endpoints at random, and a pod back for a fixed second got ~20
    // attempts per client (CI at 86909c1: the iptables node's client missed n2p2 in all of them).
    const from = runs.map((r) => r.run.snapshot().length);
    await until('every client to reach every pod after the churn', () => runs.every((r, i) => serversOf(r.run.snapshot().slice(from[i])).length === pods.length), 60_000, 200);
    await assertNoFailures();
  });
});
