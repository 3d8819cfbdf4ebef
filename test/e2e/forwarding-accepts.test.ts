// Forwarding accepts what a live cluster holds, and nothing read never empties a node
// (issue 13 §0 and §1), with real traffic through the real CLI in throw-away namespaces:
//
// - a NodePort of 3001 (a cluster with --service-node-port-range=3000-4000) and a
//   ClusterIP outside every ServiceCIDR the node was given forward on nftables and
//   iptables; a field that does not apply (healthCheckNodePort on a ClusterIP) is a
//   warning, not a refusal;
// - the same objects fail `svcplane plan --strict` and synth (as constructs), named;
// - an empty file, a folder without manifests and a mistyped folder, given to apply and
//   check against a node holding those rules: exit 2 naming the path, the kernel keeps
//   every rule and the Services keep forwarding.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Chart } from 'cdk8s';
import { ClusterIPService, NodePortService, SvcplaneApp } from '../../src/constructs/index.js';
import { connectMany, type Target } from './lib/client.js';
import { nsExec } from './lib/netns.js';
import { iptablesSave, nftText } from './lib/node-exec.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { clusterObjects, endpointSlice, service } from './suite/manifests.js';
import { teardown } from './suite/apply-cli.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const N = 24; // new connections per spread check: missing one of two endpoints has p ~ 1e-7
const OUTSIDE_IP = '10.200.0.10'; // clusterObjects' ServiceCIDR is 10.96.0.0/16

/** The live objects: a NodePort of 3001, a ClusterIP outside the ServiceCIDR with a field that does not apply. */
function liveObjects(a: Pod, c: Pod): Record<string, unknown>[] {
  const eps = [{ ip: a.ipv4, node: a.node }, { ip: c.ipv4, node: c.node }];
  return [
    service('np', { type: 'NodePort', clusterIP: '10.96.0.40', ports: [{ port: 80, targetPort: 8080, nodePort: 3001 }] }),
    endpointSlice('np', 'IPv4', eps, [{ port: 8080 }]),
    service('outside', { clusterIP: OUTSIDE_IP, healthCheckNodePort: 31000, ports: [{ port: 80, targetPort: 8080 }] }),
    endpointSlice('outside', 'IPv4', eps, [{ port: 8080 }]),
  ];
}

const tcp = (ip: string, port: number, extra: Partial<Target> = {}): Target => ({ ip, port, proto: 'tcp', timeoutMs: 1500, ...extra });

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`${backend}: live objects the API server accepted forward; nothing read changes nothing`, { timeout: 600_000 }, () => {
    let t: Topology;
    let dir = '';
    let input = '';
    let client: Pod;
    let a: Pod;
    let c: Pod;

    const svcplane = async (args: string[]) => {
      const r = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, ...args], { reject: false, timeoutMs: 120_000 });
      return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    };
    /** Every rule of ours in node1 as the kernel's tools print it (counters and dates left out). */
    const kernelState = async (): Promise<string> =>
      backend === 'nftables'
        ? nftText(t)
        : [await iptablesSave(t), await iptablesSave(t, { family: 6 })]
            .join('')
            .split('\n')
            .filter((l) => !l.startsWith('#'))
            .join('\n')
            .replace(/\[\d+:\d+\]/g, '');
    const assertForwards = async () => {
      const np = await connectMany(t.external, tcp(t.node1.externalIPv4!, 3001), N);
      assert.deepEqual(np.failures, [], 'NodePort 3001 from the external host');
      assert.deepEqual(np.servers, ['a', 'c']);
      const outside = await connectMany(client, tcp(OUTSIDE_IP, 80), N);
      assert.deepEqual(outside.failures, [], `ClusterIP ${OUTSIDE_IP} (outside every ServiceCIDR) from a pod`);
      assert.deepEqual(outside.servers, ['a', 'c']);
    };

    before(async () => {
      t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }], node2: [{ name: 'c' }] } });
      client = t.pod('client');
      a = t.pod('a');
      c = t.pod('c');
      dir = mkdtempSync(join(tmpdir(), 'svp-forwarding-'));
      input = join(dir, 'input.json');
      writeFileSync(input, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...clusterObjects(t), ...liveObjects(a, c)] }, null, 1));
    });

    // Always: our rules, the namespaces and the files go, also after a failure.
    after(() => teardown(t, dir));

    it('apply: exit 0; the NodePort of 3001 and the ClusterIP outside the ServiceCIDR forward; the ignored field is one warning', async () => {
      const r = await svcplane(['apply', '--backend', backend, '-f', input, '--node-name', 'node1']);
      assert.equal(r.code, 0, r.stderr);
      const ignored = r.stderr.split('\n').filter((l) => l.includes('spec.healthCheckNodePort'));
      assert.equal(ignored.length, 1, r.stderr);
      assert.match(ignored[0]!, /^warning: .*Service default\/outside: ignored \(does not apply\): spec\.healthCheckNodePort/);
      await assertForwards();
    });

    it('the same objects fail plan --strict, naming each object and field', async () => {
      const r = await svcplane(['plan', '--strict', '-f', input]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Service default\/np: spec\.ports\[0\]\.nodePort: must be in the node port range 30000-32767/);
      const outside = { apiVersion: 'v1', kind: 'List', items: [...clusterObjects(t), ...liveObjects(a, c).filter((o) => (o.metadata as { name: string }).name.startsWith('outside'))] };
      const file = join(dir, 'outside.json');
      writeFileSync(file, JSON.stringify(outside));
      const o = await svcplane(['plan', '--strict', '-f', file]);
      assert.equal(o.code, 2, o.stderr);
      assert.match(o.stderr, /Service default\/outside: spec\.clusterIP: must be inside a service CIDR \(10\.96\.0\.0\/16, fd00:96::\/112\)/);
    });

    it('an empty file, a folder without manifests, a mistyped folder: exit 2 naming the path, every rule stays, traffic still forwards', async () => {
      const before = await kernelState();
      assert.match(before, backend === 'nftables' ? /3001/ : /--dport 3001/, 'the node holds the rules under test');
      const empty = join(dir, 'empty.yaml');
      writeFileSync(empty, '');
      const noYaml = join(dir, 'no-yaml');
      mkdirSync(noYaml, { recursive: true });
      writeFileSync(join(noYaml, 'notes.txt'), 'not a manifest');
      const typo = join(dir, 'manifestz');
      for (const cmd of ['apply', 'check'] as const) {
        for (const path of [empty, noYaml, typo]) {
          const r = await svcplane([cmd, '--backend', backend, '-f', path, '--node-name', 'node1']);
          assert.equal(r.code, 2, `${cmd} -f ${path}: ${r.stderr}`);
          assert.ok(r.stderr.includes(path), `${cmd} names ${path}: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /changed \d+ object/, 'apply sent nothing');
          assert.equal(await kernelState(), before, `${cmd} -f ${path} changed the kernel`);
        }
      }
      await assertForwards();
    });
  });
}

it('the same objects as constructs fail synth, each naming its construct path and field', () => {
  const app = new SvcplaneApp({ outdir: mkdtempSync(join(tmpdir(), 'svp-forwarding-synth-')), serviceCIDRs: ['10.96.0.0/16'] });
  const chart = new Chart(app, 'live', { namespace: 'default' });
  new NodePortService(chart, 'np', { ports: [{ port: 80, targetPort: 8080, nodePort: 3001 }], selector: { app: 'np' } });
  new ClusterIPService(chart, 'outside', { ports: [{ port: 80, targetPort: 8080 }], clusterIP: OUTSIDE_IP, selector: { app: 'outside' } });
  assert.throws(
    () => app.check(),
    (e: Error) =>
      /\[live\/np\] Service [^:]+: spec\.ports\[0\]\.nodePort: .*30000-32767/.test(e.message) &&
      /\[live\/outside\] Service [^:]+: spec\.clusterIPs?(\[0\])?: must be inside a service CIDR \(10\.96\.0\.0\/16\)/.test(e.message),
  );
  rmSync(app.outdir, { recursive: true, force: true });
});
