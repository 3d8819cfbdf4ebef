// The agent's conntrack settings (conntrack.* of its KubeProxyConfiguration) in a
// throw-away network namespace: `svcplane agent` started there with a config writes the
// per-namespace conntrack sysctls, reports the ones the kernel refuses in a namespace
// (nf_conntrack_max is read-only outside the initial namespace, the module's hashsize
// too), keeps running and syncs its rules. The root namespace's values do not move.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { AgentProcess } from './lib/agent-process.js';
import { createNetns, deleteNetns, getSysctl, RUN_PREFIX } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { suiteOwner } from './lib/processes.js';
import { endpointSlice, service } from './suite/manifests.js';
const ROOT_VALUES = [
  '/proc/sys/net/netfilter/nf_conntrack_max',
  '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established',
  '/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream',
  '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal',
];
const readRoot = () => ROOT_VALUES.map((p) => readFileSync(p, 'utf8').trim());

describe('svcplane agent: conntrack.* sysctls in a network namespace', { timeout: 120_000 }, () => {
  let ns: string | undefined;
  let dir: string | undefined;
  // Ends the agent before the describe's after hook deletes the namespace.
  const owner = suiteOwner();
  const rootBefore: string[] = [];
  let maxBefore = 0;

  before(async () => {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('this test needs root (network namespaces)');
    await requireTools(['ip', 'nft', 'sysctl']);
    rootBefore.push(...readRoot());
    ns = await createNetns(`${RUN_PREFIX}conntrack`);
    // Read inside the namespace: conntrack is loaded there (the tests' nft rules load it).
    maxBefore = Number(await getSysctl(ns, 'net.netfilter.nf_conntrack_max'));
    assert.ok(maxBefore > 0, 'nf_conntrack_max readable in the namespace');
    dir = mkdtempSync(join(tmpdir(), 'svcplane-conntrack-'));
    const eps = join(dir, 'endpoints');
    mkdirSync(eps);
    const svc = service('web', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] });
    writeFileSync(join(dir, 'plan.json'), serializePlan(collectInputs([{ object: svc, source: 'e2e' }]).plan));
    writeFileSync(join(eps, 'web.json'), JSON.stringify(endpointSlice('web', 'IPv4', [{ ip: '10.244.1.10', node: 'node1' }], [{ name: 'http', port: 80 }])));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        oomScoreAdj: -999,
        conntrack: {
          // Above the current limit, so the agent must try to raise it (and the kernel refuses in a namespace).
          maxPerCore: maxBefore,
          min: maxBefore * 2,
          tcpEstablishedTimeout: '2h',
          tcpBeLiberal: true,
          udpStreamTimeout: '3m',
        },
      }),
    );
  });

  after(async () => {
    try {
      if (ns) await deleteNetns(ns);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the per-namespace timeouts, reports nf_conntrack_max as refused, and still syncs', async () => {
    const agent = AgentProcess.start({ ns: ns!, owner, backend: 'nftables', plan: join(dir!, 'plan.json'), config: join(dir!, 'config.json'), endpointsFile: join(dir!, 'endpoints') });
    const log = () => agent.stderr();
    await agent.waitSynced();

    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_tcp_timeout_established'), '7200');
    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_udp_timeout_stream'), '180');
    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_tcp_be_liberal'), '1');

    // What this kernel does with nf_conntrack_max in a namespace decides what must be logged.
    const maxAfter = Number(await getSysctl(ns!, 'net.netfilter.nf_conntrack_max'));
    const refusals = agent.logs.filter((l) => l.includes('cannot set /proc/sys/net/netfilter/nf_conntrack_max'));
    if (maxAfter === maxBefore) assert.equal(refusals.length, 1, `a refusal is reported:\n${log()}`);
    else assert.equal(maxAfter, Math.max(maxBefore * cpus().length, maxBefore * 2), 'a kernel that takes it in a namespace got the configured value');
    // The ignored field is a warning naming it.
    assert.ok(agent.count('oomScoreAdj: accepted but not acted on') > 0, log());
    assert.ok(agent.running(), 'the agent keeps running');
  });

  it("leaves the root namespace's values alone", () => {
    assert.deepEqual(readRoot(), rootBefore);
  });
});
