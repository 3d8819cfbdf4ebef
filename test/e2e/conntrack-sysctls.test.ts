// The agent's conntrack settings (conntrack.* of its KubeProxyConfiguration) in a
// throw-away network namespace: `svcplane agent` started there with a config writes the
// per-namespace conntrack sysctls, reports the ones the kernel refuses in a namespace
// (nf_conntrack_max is read-only outside the initial namespace, the module's hashsize
// too), keeps running and syncs its rules. The root namespace's values do not move.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { createNetns, deleteNetns, getSysctl, RUN_PREFIX, spawnInNetns, stopProcess, type NetnsProcess } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { endpointSlice, service } from './suite/manifests.js';
import { until } from './lib/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
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
  let agent: NetnsProcess | undefined;
  const logs: string[] = [];
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
      if (agent) await stopProcess(agent, 3000);
      if (ns) await deleteNetns(ns);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the per-namespace timeouts, reports nf_conntrack_max as refused, and still syncs', async () => {
    agent = spawnInNetns(ns!, [
      'node', '--import', 'tsx', CLI, 'agent',
      '--backend', 'nftables',
      '--plan', join(dir!, 'plan.json'),
      '--config', join(dir!, 'config.json'),
      '--endpoints-file', join(dir!, 'endpoints'),
      '--node-name', 'node1',
      '--health-addr', '127.0.0.1:10256',
      '--metrics-addr', '127.0.0.1:10249',
    ]);
    createInterface({ input: agent.stderr }).on('line', (line) => logs.push(line));
    const log = () => logs.join('\n');
    await until('the first sync', () => logs.some((l) => l.includes('"msg":"synced"')), 60_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}\nagent log:\n${log()}`);
    });

    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_tcp_timeout_established'), '7200');
    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_udp_timeout_stream'), '180');
    assert.equal(await getSysctl(ns!, 'net.netfilter.nf_conntrack_tcp_be_liberal'), '1');

    // What this kernel does with nf_conntrack_max in a namespace decides what must be logged.
    const maxAfter = Number(await getSysctl(ns!, 'net.netfilter.nf_conntrack_max'));
    const refusals = logs.filter((l) => l.includes('cannot set /proc/sys/net/netfilter/nf_conntrack_max'));
    if (maxAfter === maxBefore) assert.equal(refusals.length, 1, `a refusal is reported:\n${log()}`);
    else assert.equal(maxAfter, Math.max(maxBefore * cpus().length, maxBefore * 2), 'a kernel that takes it in a namespace got the configured value');
    // The ignored field is a warning naming it.
    assert.ok(logs.some((l) => l.includes('oomScoreAdj: accepted but not acted on')), log());
    assert.equal(agent.exitCode, null, 'the agent keeps running');
  });

  it("leaves the root namespace's values alone", () => {
    assert.deepEqual(readRoot(), rootBefore);
  });
});
