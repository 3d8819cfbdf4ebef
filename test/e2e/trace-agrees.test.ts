// `svcplane trace --live` against real traffic: in node1's namespace, with rules
// applied by the real CLI, what trace says a new connection does (reach these
// endpoints, masqueraded or not; refused; dropped) must be what real connections do.
// nftables and iptables; IPVS needs the VM (test/vm/) and is left to the differential test.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectMany, type Target } from './lib/client.js';
import { nsExec } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { createTopology, type Host, type Topology } from './lib/topology.js';
import { applyInNode1, teardown } from './suite/apply-cli.js';
import { endpointSlice, service } from './suite/manifests.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const N = 20; // new connections per check: missing one of two endpoints has p ~ 2e-6

interface Trace {
  verdict: string;
  endpoints: string[];
  masquerade: boolean;
  path: string[];
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`${backend}: svcplane trace --live agrees with real traffic`, { timeout: 300_000 }, () => {
    let t: Topology;
    let dir: string | undefined;

    before(async () => {
      await requireTools(backend === 'iptables' ? ['iptables-save'] : []);
      t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }], node2: [{ name: 'c' }] } });
      const a = t.pod('a');
      const c = t.pod('c');
      const objects = [
        service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }),
        endpointSlice('web', 'IPv4', [{ ip: a.ipv4, node: 'node1' }, { ip: c.ipv4, node: 'node2' }], [{ port: 8080 }]),
        service('np', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] }),
        endpointSlice('np', 'IPv4', [{ ip: a.ipv4, node: 'node1' }, { ip: c.ipv4, node: 'node2' }], [{ port: 8080 }]),
        service('local', { type: 'NodePort', clusterIP: '10.96.0.21', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }] }),
        endpointSlice('local', 'IPv4', [{ ip: c.ipv4, node: 'node2' }], [{ port: 8080 }]),
        service('empty', { clusterIP: '10.96.0.12', ports: [{ port: 80, targetPort: 8080 }] }),
        service(
          'lb',
          { type: 'LoadBalancer', clusterIP: '10.96.0.30', loadBalancerSourceRanges: ['198.51.100.0/24'], ports: [{ port: 80, targetPort: 8080, nodePort: 30082 }] },
          { loadBalancer: { ingress: [{ ip: '203.0.113.30' }] } },
        ),
        endpointSlice('lb', 'IPv4', [{ ip: a.ipv4, node: 'node1' }], [{ port: 8080 }]),
      ];
      dir = await applyInNode1(t, backend, objects, 'svcplane-trace-e2e-');
    });

    // Always tear down, also after a failure.
    after(() => teardown(t, dir));

    async function trace(src: string, ip: string, port: number): Promise<Trace> {
      const r = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'trace', '--backend', backend, '--live', '--json', '--src', src, '--dst', `${ip}:${port}`], { reject: false });
      assert.equal(r.exitCode, 0, `svcplane trace failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as Trace;
    }

    /** Traces, then connects for real, and checks that both say the same. */
    async function agree(client: Host, ip: string, port: number, expectVerdict: string): Promise<void> {
      const tr = await trace(client.ipv4, ip, port);
      const why = `trace: ${JSON.stringify(tr, null, 1)}`;
      assert.equal(tr.verdict, expectVerdict, why);
      const target: Target = { ip, port, proto: 'tcp', timeoutMs: 1200 };
      const real = await connectMany(client, target, tr.verdict === 'dnat' ? N : 2);
      if (tr.verdict === 'dnat') {
        assert.deepEqual(real.failures, [], why);
        const podOf = new Map(t.pods.map((p) => [`${p.ipv4}:8080`, p.name]));
        assert.deepEqual(real.servers, tr.endpoints.map((e) => podOf.get(e) ?? e).sort(), why);
        for (const x of real.results) if (x.ok) assert.equal(x.seenSource !== client.ipv4, tr.masquerade, `masquerade: ${why}`);
      } else {
        const seen = real.results.map((x) => (x.ok ? `ok ${x.server}` : x.error));
        const want = tr.verdict === 'reject' ? 'refused' : 'timeout';
        assert.deepEqual(seen, seen.map(() => want), why);
      }
    }

    it('ClusterIP from a pod: both endpoints, source kept', async () => {
      await agree(t.pod('client'), '10.96.0.10', 80, 'dnat');
    });

    it('NodePort from the external host: both endpoints, masqueraded', async () => {
      await agree(t.external, '192.168.50.1', 30080, 'dnat');
    });

    it('a Service without endpoints: refused', async () => {
      await agree(t.pod('client'), '10.96.0.12', 80, 'reject');
    });

    it('externalTrafficPolicy Local with no endpoint on this node: external traffic dropped', async () => {
      await agree(t.external, '192.168.50.1', 30081, 'drop');
    });

    it('loadBalancerSourceRanges: the external host is out of range, dropped', async () => {
      await agree(t.external, '203.0.113.30', 80, 'drop');
    });
  });
}
