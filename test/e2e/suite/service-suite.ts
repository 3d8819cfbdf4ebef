// The end-to-end Service suite, parameterised by backend: real network namespaces
// (test/e2e/README.md), real servers, real connections, rules applied in node1 through
// the real CLI. Each case declares Services and EndpointSlices, applies them, and
// checks what the kernel does with new connections.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, connectMany, continuousTraffic, type Target } from '../lib/client.js';
import { nsExec } from '../lib/netns.js';
import { createTopology, type Pod, type Topology } from '../lib/topology.js';
import { clusterObjects, endpointSlice, service, type EndpointSpec } from './manifests.js';
import { teardown } from './apply-cli.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const N = 24; // connections per spread check: missing one of two endpoints has p ~ 1e-7

export interface SuiteOptions {
  readonly backend: string;
}

export function runServiceSuite({ backend }: SuiteOptions): void {
  describe(`${backend}: Services with real traffic`, { timeout: 600_000 }, () => {
    let t: Topology;
    let dir: string;
    let client: Pod; // a pod on node1 that only makes connections
    let a: Pod; // node1
    let b: Pod; // node1
    let c: Pod; // node2

    const epOf = (p: Pod, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip: p.ipv4, node: p.node, ...extra });
    const ep6Of = (p: Pod): EndpointSpec => ({ ip: p.ipv6, node: p.node });

    /** Applies these objects (plus the node and cluster objects) in node1 with the CLI. */
    async function apply(objects: Record<string, unknown>[], kubeProxy: Record<string, unknown> = {}): Promise<{ code: number; stderr: string; stdout: string }> {
      const file = join(dir, 'input.json');
      // kubeProxy: fields that replace those of the KubeProxyConfiguration for this apply.
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...clusterObjects(t, kubeProxy), ...objects] }, null, 1));
      const r = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'apply', '--backend', backend, '-f', file, '--node-name', 'node1'], {
        reject: false,
      });
      return { code: r.exitCode, stderr: r.stderr, stdout: r.stdout };
    }

    async function applyOk(objects: Record<string, unknown>[], kubeProxy: Record<string, unknown> = {}): Promise<string> {
      const r = await apply(objects, kubeProxy);
      assert.equal(r.code, 0, `svcplane apply failed: ${r.stderr}`);
      return r.stderr;
    }

    const tcp = (ip: string, port: number, extra: Partial<Target> = {}): Target => ({ ip, port, proto: 'tcp', timeoutMs: 1500, ...extra });

    before(async () => {
      t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }, { name: 'b' }], node2: [{ name: 'c' }, { name: 'd' }] } });
      client = t.pod('client');
      a = t.pod('a');
      b = t.pod('b');
      c = t.pod('c');
      dir = mkdtempSync(join(tmpdir(), 'svcplane-e2e-'));
    });

    // Always: our rules, the namespaces and the files go, also after a failure.
    after(() => teardown(t, dir));

    it('ClusterIP: spreads over every endpoint, keeps the pod client address, and a second apply changes nothing', async () => {
      const objs = [
        service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('web', 'IPv4', [epOf(a), epOf(c)], [{ port: 8080 }]),
      ];
      await applyOk(objs);
      const r = await connectMany(client, tcp('10.96.0.10', 80), N);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a', 'c']);
      for (const x of r.results) if (x.ok) assert.equal(x.seenSource, client.ipv4, 'pod traffic is not masqueraded');
      assert.match(await applyOk(objs), /changed 0 object/);
    });

    it('UDP ClusterIP reaches every endpoint', async () => {
      await applyOk([
        service('dns', { clusterIP: '10.96.0.53', ports: [{ port: 53, targetPort: 8080, protocol: 'UDP' }] }),
        endpointSlice('dns', 'IPv4', [epOf(a), epOf(b)], [{ port: 8080, protocol: 'UDP' }]),
      ]);
      const r = await connectMany(client, { ip: '10.96.0.53', port: 53, proto: 'udp', timeoutMs: 1500 }, N);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a', 'b']);
    });

    it('hairpin: a pod reaching itself through its Service is masqueraded', async () => {
      await applyOk([
        service('self', { clusterIP: '10.96.0.11', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('self', 'IPv4', [epOf(a)], [{ port: 8080 }]),
      ]);
      const r = await connect(a, tcp('10.96.0.11', 80));
      assert.ok(r.ok, `hairpin connection failed: ${JSON.stringify(r)}`);
      assert.equal(r.server, 'a');
      assert.notEqual(r.seenSource, a.ipv4, 'hairpin traffic must be masqueraded');
    });

    it(`no endpoints: refused; a port the ClusterIP does not serve: ${backend === 'iptables' ? 'not captured' : 'refused'}; an unallocated address: dropped`, async () => {
      await applyOk([
        service('empty', { clusterIP: '10.96.0.12', ports: [{ port: 80, targetPort: 8080 }] }),
        service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('web', 'IPv4', [epOf(a)], [{ port: 8080 }]),
      ]);
      const empty = await connect(client, tcp('10.96.0.12', 80));
      assert.equal(empty.ok ? 'ok' : empty.error, 'refused');
      // kube-proxy's nftables mode rejects a ClusterIP port the Service does not serve and
      // drops addresses in a Service CIDR that no Service holds (cluster-ips-check). Its
      // iptables mode has neither rule: such packets are routed like any other, here out
      // of node1's default route to the external host, which drops them (timeout).
      const wrongPort = await connect(client, tcp('10.96.0.10', 81, { timeoutMs: 800 }));
      assert.equal(wrongPort.ok ? 'ok' : wrongPort.error, backend === 'iptables' ? 'timeout' : 'refused');
      const unallocated = await connect(client, tcp('10.96.0.99', 80, { timeoutMs: 800 }));
      assert.equal(unallocated.ok ? 'ok' : unallocated.error, 'timeout');
      // The node itself gets the same answers.
      const fromNode = await connect(t.node1, tcp('10.96.0.12', 80));
      assert.equal(fromNode.ok ? 'ok' : fromNode.error, 'refused');
    });

    it('NodePort (externalTrafficPolicy Cluster): external clients reach every endpoint, masqueraded', async () => {
      await applyOk([
        service('np', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] }),
        endpointSlice('np', 'IPv4', [epOf(a), epOf(c)], [{ port: 8080 }]),
      ]);
      const r = await connectMany(t.external, tcp('192.168.50.1', 30080), N);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a', 'c']);
      for (const x of r.results) if (x.ok) assert.notEqual(x.seenSource, t.external.ipv4, 'Cluster policy masquerades external clients');
    });

    it('externalTrafficPolicy Local: local endpoints only, client address kept; none here: dropped, but pods still get through', async () => {
      await applyOk([
        service('local', { type: 'NodePort', clusterIP: '10.96.0.21', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }] }),
        endpointSlice('local', 'IPv4', [epOf(a), epOf(b), epOf(c)], [{ port: 8080 }]),
        service('remote', { type: 'NodePort', clusterIP: '10.96.0.22', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: 30082 }] }),
        endpointSlice('remote', 'IPv4', [epOf(c)], [{ port: 8080 }]),
      ]);
      const r = await connectMany(t.external, tcp('192.168.50.1', 30081), N);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a', 'b']);
      for (const x of r.results) if (x.ok) assert.equal(x.seenSource, t.external.ipv4, 'Local policy keeps the client address');
      const none = await connect(t.external, tcp('192.168.50.1', 30082, { timeoutMs: 800 }));
      assert.equal(none.ok ? 'ok' : none.error, 'timeout');
      // A pod on this node going to the NodePort is short-circuited to any endpoint.
      const fromPod = await connect(client, tcp('172.18.0.1', 30082));
      assert.ok(fromPod.ok && fromPod.server === 'c', `pod traffic should short-circuit: ${JSON.stringify(fromPod)}`);
    });

    it('LoadBalancer IP with loadBalancerSourceRanges: allowed source passes, others are dropped before DNAT', async () => {
      await applyOk([
        service('lb-open', { type: 'LoadBalancer', clusterIP: '10.96.0.30', loadBalancerSourceRanges: ['192.168.50.0/24'], ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }] }, { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } }),
        endpointSlice('lb-open', 'IPv4', [epOf(a)], [{ port: 8080 }]),
        service('lb-closed', { type: 'LoadBalancer', clusterIP: '10.96.0.31', loadBalancerSourceRanges: ['198.51.100.0/24'], ports: [{ port: 80, targetPort: 8080, nodePort: 30091 }] }, { loadBalancer: { ingress: [{ ip: '203.0.113.11' }] } }),
        endpointSlice('lb-closed', 'IPv4', [epOf(a)], [{ port: 8080 }]),
      ]);
      const open = await connect(t.external, tcp('203.0.113.10', 80));
      assert.ok(open.ok && open.server === 'a', `allowed source refused: ${JSON.stringify(open)}`);
      const closed = await connect(t.external, tcp('203.0.113.11', 80, { timeoutMs: 800 }));
      assert.equal(closed.ok ? 'ok' : closed.error, 'timeout');
    });

    it(`NodePort on 127.0.0.1 from the node itself: ${backend === 'iptables' ? 'served (localhostNodePorts)' : 'not served'}`, async () => {
      // kube-proxy's iptables mode serves NodePorts on 127.0.0.1 when localhostNodePorts is
      // on (the default) and nodePortAddresses covers every address (route_localnet=1);
      // its nftables mode never does. Both then answer on the node's other addresses.
      const allAddresses = { nodePortAddresses: ['0.0.0.0/0', '::/0'], iptables: { localhostNodePorts: true } };
      await applyOk([
        service('lo', { type: 'NodePort', clusterIP: '10.96.0.23', ports: [{ port: 80, targetPort: 8080, nodePort: 30093 }] }),
        endpointSlice('lo', 'IPv4', [epOf(a), epOf(c)], [{ port: 8080 }]),
      ], allAddresses);
      const viaNodeIP = await connect(t.node1, tcp('172.18.0.1', 30093));
      assert.ok(viaNodeIP.ok, `NodePort on the node IP: ${JSON.stringify(viaNodeIP)}`);
      if (backend === 'iptables') {
        const r = await connectMany(t.node1, tcp('127.0.0.1', 30093), N);
        assert.deepEqual(r.failures, []);
        assert.deepEqual(r.servers, ['a', 'c']);
        // The localnet guard: 127.0.0.1 is not reachable from outside the node.
        const { stdout } = await nsExec(t.node1.ns, ['iptables-save', '-t', 'filter']);
        assert.match(stdout, /block incoming localnet connections/);
      } else {
        const r = await connect(t.node1, tcp('127.0.0.1', 30093, { timeoutMs: 800 }));
        assert.equal(r.ok ? 'ok' : r.error, 'refused');
      }
    });

    it('externalIPs are captured', async () => {
      await applyOk([
        service('ext', { clusterIP: '10.96.0.40', externalIPs: ['192.0.2.40'], ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('ext', 'IPv4', [epOf(c)], [{ port: 8080 }]),
      ]);
      const r = await connect(t.external, tcp('192.0.2.40', 80));
      assert.ok(r.ok && r.server === 'c', JSON.stringify(r));
    });

    it('sessionAffinity ClientIP: one client sticks to one endpoint', async () => {
      await applyOk([
        service('sticky', { clusterIP: '10.96.0.50', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } }, ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('sticky', 'IPv4', [epOf(a), epOf(b), epOf(c)], [{ port: 8080 }]),
      ]);
      const r = await connectMany(client, tcp('10.96.0.50', 80), N);
      assert.deepEqual(r.failures, []);
      assert.equal(r.servers.length, 1, `affinity broken: ${JSON.stringify(r.counts)}`);
    });

    it('internalTrafficPolicy Local: only endpoints on this node; none here: dropped', async () => {
      await applyOk([
        service('itp', { clusterIP: '10.96.0.60', internalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('itp', 'IPv4', [epOf(a), epOf(c)], [{ port: 8080 }]),
        service('itp-away', { clusterIP: '10.96.0.61', internalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('itp-away', 'IPv4', [epOf(c)], [{ port: 8080 }]),
      ]);
      const r = await connectMany(client, tcp('10.96.0.60', 80), 12);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a']);
      const away = await connect(client, tcp('10.96.0.61', 80, { timeoutMs: 800 }));
      assert.equal(away.ok ? 'ok' : away.error, 'timeout');
    });

    it('terminating endpoints that still serve are used when none is ready', async () => {
      await applyOk([
        service('term', { clusterIP: '10.96.0.70', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('term', 'IPv4', [epOf(a, { ready: false, serving: true, terminating: true }), epOf(b, { ready: false, serving: false, terminating: true })], [{ port: 8080 }]),
      ]);
      const r = await connectMany(client, tcp('10.96.0.70', 80), 12);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.servers, ['a']);
    });

    it('IPv6 and IPv4 at once (dual-stack)', async () => {
      await applyOk([
        service('ds', { clusterIP: '10.96.0.80', clusterIPs: ['10.96.0.80', 'fd00:96::80'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('ds', 'IPv4', [epOf(a)], [{ port: 8080 }]),
        endpointSlice('ds', 'IPv6', [ep6Of(b), ep6Of(c)], [{ port: 8080 }]),
      ]);
      const v6 = await connectMany(client, tcp('fd00:96::80', 80), N);
      assert.deepEqual(v6.failures, []);
      assert.deepEqual(v6.servers, ['b', 'c']);
      const v4 = await connect(client, tcp('10.96.0.80', 80));
      assert.ok(v4.ok && v4.server === 'a', JSON.stringify(v4));
    });

    it('an endpoint removed and another added under continuous traffic: no connection fails', async () => {
      const svc = service('live', { clusterIP: '10.96.0.90', ports: [{ port: 80, targetPort: 8080 }] });
      const d = t.pod('d');
      await applyOk([svc, endpointSlice('live', 'IPv4', [epOf(a), epOf(b)], [{ port: 8080 }])]);
      const run = continuousTraffic(client, tcp('10.96.0.90', 80), 20);
      await new Promise((r) => setTimeout(r, 300));
      await applyOk([svc, endpointSlice('live', 'IPv4', [epOf(a)], [{ port: 8080 }])]);
      await new Promise((r) => setTimeout(r, 300));
      await applyOk([svc, endpointSlice('live', 'IPv4', [epOf(a), epOf(d)], [{ port: 8080 }])]);
      await new Promise((r) => setTimeout(r, 600));
      const results = await run.stop();
      const failed = results.filter((x) => !x.result.ok);
      assert.deepEqual(failed, [], 'no connection may fail while endpoints change');
      const late = results.slice(-10).map((x) => (x.result.ok ? x.result.server : '?'));
      assert.ok(late.every((s) => s === 'a' || s === 'd'), `after the change only a and d answer: ${late.join(',')}`);
      assert.ok(results.length > 30, `too little traffic to judge: ${results.length}`);
    });

    it('a malformed EndpointSlice is skipped and named (exit 2): its Service keeps the rules it had, the rest applies', async () => {
      const kept = service('kept', { clusterIP: '10.96.0.13', ports: [{ port: 80, targetPort: 8080 }] });
      const web = service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] });
      await applyOk([kept, endpointSlice('kept', 'IPv4', [epOf(a)], [{ port: 8080 }]), web, endpointSlice('web', 'IPv4', [epOf(a)], [{ port: 8080 }])]);
      const bad = endpointSlice('kept', 'IPv4', [{ ip: '10.244.1.999', node: 'node1' }], [{ port: 8080 }]);
      const r = await apply([kept, bad, web, endpointSlice('web', 'IPv4', [epOf(b)], [{ port: 8080 }])]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /EndpointSlice default\/kept-v4/);
      const still = await connect(client, tcp('10.96.0.13', 80));
      assert.ok(still.ok && still.server === 'a', `the Service with bad input lost its rules: ${JSON.stringify(still)}`);
      const moved = await connect(client, tcp('10.96.0.10', 80));
      assert.ok(moved.ok && moved.server === 'b', `the rest must apply: ${JSON.stringify(moved)}`);
    });
  });
}
