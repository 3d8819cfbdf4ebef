// Real traffic across the one-machine cluster (README.md): 3 nodes, each running the
// real compiled agent in API mode on a different backend (nftables, iptables,
// userspace), fed by one API server on the underlay. Cross-node ClusterIP both ways,
// NodePort on every node, externalTrafficPolicy Local behind a load balancer that picks
// nodes by their healthCheckNodePort, trafficDistribution PreferSameZone and
// PreferSameNode with the Nodes' real zone labels; every node must forward the same way.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectMany } from '../e2e/lib/client.js';
import { sleep, until } from '../e2e/lib/wait.js';
import { createCluster, type Cluster } from './cluster.js';
import { endpointSlice, service, type ClusterEndpoint } from './objects.js';
import type { ClusterPod } from './testbed.js';
import { healthCheck, waitServers } from './traffic.js';

const PORTS = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
const svcPorts = (extra: Record<string, unknown> = {}) => [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' as const, ...extra }];

describe('a 3-node cluster on nftables, iptables and userspace at once', { timeout: 420_000 }, () => {
  let c: Cluster;
  const ep = (p: ClusterPod, extra: Partial<ClusterEndpoint> = {}): ClusterEndpoint => ({ ip: p.ip, node: p.node, zone: c.bed.node(p.node).zone, ...extra });
  const names = (ps: readonly ClusterPod[]) => ps.map((p) => p.name);
  /** The first pod of every node: the clients. */
  const clients = () => c.bed.nodes.map((n) => c.bed.podsOn(n.name)[0]!);
  /** Does this node's backend keep the client's address (the userspace proxy terminates connections)? */
  const keepsSource = (node: string) => c.backendOf(node) !== 'userspace';

  before(async () => {
    c = await createCluster({ nodes: 3, backends: ['nftables', 'iptables', 'userspace'] });
  });
  after(async () => {
    await c?.destroy();
  });

  it('pod on one node -> ClusterIP -> pod on the next node, and the answer comes back to the pod', async () => {
    const nodes = c.bed.nodes;
    for (const [i, target] of nodes.map((_, j) => nodes[(j + 1) % nodes.length]!).entries()) {
      const vip = `10.96.1.${10 + i}`;
      await c.api.upsert('services', service(`to-${target.name}`, { clusterIP: vip, clusterIPs: [vip], ports: svcPorts() }));
      await c.api.upsert('endpointslices', endpointSlice(`to-${target.name}`, c.bed.podsOn(target.name).map((p) => ep(p)), PORTS));
    }
    for (const [i, n] of nodes.entries()) {
      const target = nodes[(i + 1) % nodes.length]!;
      const client = c.bed.podsOn(n.name)[0]!;
      const vip = { ip: `10.96.1.${10 + i}`, port: 80 };
      await waitServers(client, vip, names(c.bed.podsOn(target.name)));
      const r = await connectMany(client, vip, 20);
      assert.equal(r.failures.length, 0, `${client.name} via ${n.name} (${c.backendOf(n.name)})`);
      const seen = new Set(r.results.flatMap((x) => (x.ok ? [x.seenSource] : [])));
      // Not masqueraded: pod-to-pod across nodes keeps the pod's address (the reply is routed back to it).
      assert.deepEqual([...seen], [keepsSource(n.name) ? client.ip : n.ip], `source seen by ${target.name}'s pods from ${client.name}`);
    }
  });

  it('forwards identically on every node: the same Service reaches the same pods from every pod and on every NodePort', async () => {
    const all = c.bed.pods;
    await c.api.upsert('services', service('everywhere', { type: 'NodePort', clusterIP: '10.96.2.10', clusterIPs: ['10.96.2.10'], ports: svcPorts({ nodePort: 30080 }) }));
    await c.api.upsert('endpointslices', endpointSlice('everywhere', all.map((p) => ep(p)), PORTS));
    for (const pod of all) await waitServers(pod, { ip: '10.96.2.10', port: 80 }, names(all));
    // NodePort on every node, from the external client on the underlay.
    for (const n of c.bed.nodes) await waitServers(c.bed.external, { ip: n.ip, port: 30080 }, names(all));
  });

  it('externalTrafficPolicy Local: the load balancer skips nodes whose healthCheckNodePort says no local endpoint, and no connection fails', async () => {
    const [n1, n2, n3] = c.bed.nodes;
    const p1 = c.bed.podsOn(n1!.name)[0]!;
    const p2 = c.bed.podsOn(n2!.name)[0]!;
    const p3 = c.bed.podsOn(n3!.name)[0]!;
    const HC = 32001;
    const NP = 30081;
    await c.api.upsert(
      'services',
      service('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: HC, clusterIP: '10.96.3.10', clusterIPs: ['10.96.3.10'], ports: svcPorts({ nodePort: NP }) }),
    );
    const setEndpoints = (eps: ClusterEndpoint[]) => c.api.upsert('endpointslices', endpointSlice('lb', eps, PORTS));
    await setEndpoints([ep(p1), ep(p3)]);
    const healthy = async () => {
      const codes = await Promise.all(c.bed.nodes.map((n) => healthCheck(c.bed.external, n.ip, HC)));
      return c.bed.nodes.filter((_, i) => codes[i] === 200).map((n) => n.name);
    };
    await until('healthCheckNodePorts: 200 on node1 and node3 only', async () => (await healthy()).join(',') === `${n1!.name},${n3!.name}`, 20_000, 200);

    // Each healthy node forwards only to its own endpoint and keeps the client's address.
    for (const [n, p] of [[n1!, p1], [n3!, p3]] as const) {
      await waitServers(c.bed.external, { ip: n.ip, port: NP }, [p.name]);
      if (keepsSource(n.name)) {
        const r = await connectMany(c.bed.external, { ip: n.ip, port: NP }, 5);
        assert.deepEqual([...new Set(r.results.flatMap((x) => (x.ok ? [x.seenSource] : [])))], [c.bed.external.ip], `source preserved through ${n.name}`);
      }
    }

    // The load balancer: refreshes its healthy set every 200 ms, sends each new connection
    // to the next healthy node. Meanwhile the endpoint moves from node1 to node2 the way a
    // rollout does it: the new one ready, the old one terminating (node1's check fails,
    // while it still forwards to its serving, terminating endpoint), then removed.
    let pool = await healthy();
    let stop = false;
    const results: { node: string; ok: boolean; server?: string; error?: string }[] = [];
    const refresher = (async () => {
      while (!stop) {
        pool = await healthy();
        await sleep(200);
      }
    })();
    const sender = (async () => {
      let i = 0;
      while (!stop) {
        const node = pool[i++ % pool.length];
        if (node) {
          const r = await connectMany(c.bed.external, { ip: c.bed.node(node).ip, port: NP, timeoutMs: 1500 }, 1);
          const x = r.results[0]!;
          results.push({ node, ok: x.ok, ...(x.ok ? { server: x.server } : { error: x.error }) });
        }
        await sleep(20);
      }
    })();
    await setEndpoints([ep(p1), ep(p2), ep(p3)]);
    await until('node2 passes its health check', async () => pool.includes(n2!.name), 20_000, 100);
    await setEndpoints([ep(p1, { ready: false, serving: true, terminating: true }), ep(p2), ep(p3)]);
    await until('node1 fails its health check and leaves the pool', async () => !pool.includes(n1!.name), 20_000, 100);
    await sleep(1000); // the balancer's own refresh: connections already sent to node1 finish
    await setEndpoints([ep(p2), ep(p3)]);
    await sleep(2000);
    stop = true;
    await Promise.all([refresher, sender]);
    const failed = results.filter((r) => !r.ok);
    assert.equal(failed.length, 0, `${failed.length} of ${results.length} failed: ${JSON.stringify(failed.slice(0, 5))}`);
    assert.deepEqual([...new Set(results.map((r) => r.server))].sort(), [p1.name, p2.name, p3.name].sort());
    for (const r of results) assert.equal(r.server, c.bed.podsOn(r.node).find((p) => p.name === r.server)?.name, `${r.node} forwarded to a local endpoint only`);
  });

  it('trafficDistribution PreferSameZone keeps traffic in the client node\'s zone (Node labels, slice hints)', async () => {
    // node1 and node3 are in zone-a, node2 in zone-b.
    const [n1, n2, n3] = c.bed.nodes;
    assert.deepEqual([n1!.zone, n2!.zone, n3!.zone], ['zone-a', 'zone-b', 'zone-a']);
    const inA = c.bed.podsOn(n1!.name)[1]!;
    const inB = c.bed.podsOn(n2!.name)[1]!;
    await c.api.upsert('services', service('zonal', { clusterIP: '10.96.4.10', clusterIPs: ['10.96.4.10'], trafficDistribution: 'PreferSameZone', ports: svcPorts() }));
    await c.api.upsert('endpointslices', endpointSlice('zonal', [ep(inA, { forZones: ['zone-a'] }), ep(inB, { forZones: ['zone-b'] })], PORTS));
    for (const client of clients()) {
      await waitServers(client, { ip: '10.96.4.10', port: 80 }, [c.bed.node(client.node).zone === 'zone-a' ? inA.name : inB.name]);
    }
  });

  it('trafficDistribution PreferSameNode keeps traffic on the client\'s node', async () => {
    const second = c.bed.nodes.map((n) => c.bed.podsOn(n.name)[1]!);
    await c.api.upsert('services', service('nodal', { clusterIP: '10.96.5.10', clusterIPs: ['10.96.5.10'], trafficDistribution: 'PreferSameNode', ports: svcPorts() }));
    await c.api.upsert('endpointslices', endpointSlice('nodal', second.map((p) => ep(p, { forNodes: [p.node], forZones: [c.bed.node(p.node).zone] })), PORTS));
    for (const client of clients()) {
      await waitServers(client, { ip: '10.96.5.10', port: 80 }, [second.find((p) => p.node === client.node)!.name]);
    }
  });

  it('no agent logged an error, and every agent exits 0 on SIGTERM', async () => {
    for (const a of c.agents.values()) {
      const errors = a.logs.filter((l) => /"level":(50|60)/.test(l));
      assert.deepEqual(errors, [], `${a.node} (${a.backend})`);
    }
    for (const n of c.bed.nodes) {
      const exit = await c.stopAgent(n.name);
      assert.deepEqual(exit, { exitCode: 0, signal: undefined }, `${n.name}'s agent on SIGTERM\n${c.agent(n.name).tail()}`);
    }
  });
});
