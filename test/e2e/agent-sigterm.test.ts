// SIGTERM at any moment, above all while a sync is running: the real `svcplane
// agent` (nftables, --endpoints-file) in a throw-away namespace, 100 Services whose
// endpoint files churn all the time, and a SIGTERM sent while the agent has a
// kernel tool (nft) running as its child. Each of 20 runs must exit 0, log
// "stopping", and leave the rules in the kernel (kubelet restarts the agent; the
// node's Services must not go dark meanwhile).
//
// Before the fix, execa's signal-exit saw itself as the last SIGTERM listener (the
// agent's was `once`), killed nft and re-raised the signal: exit 143, no "stopping".

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { AgentProcess } from './lib/agent-process.js';
import { createNetns, deleteNetns, nsExec, RUN_PREFIX } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { suiteOwner } from './lib/processes.js';
import { endpointSlice, service } from './suite/manifests.js';
import { until } from './lib/wait.js';

const SERVICES = 100;
const RUNS = 20;
const PORTS = [{ name: 'tcp', port: 80, protocol: 'TCP' as const }];
const vip = (i: number) => `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const name = (i: number) => `svc-${i}`;

/** The direct children of a process (the kernel tools the agent runs). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

describe('svcplane agent: SIGTERM while syncs are in flight', { timeout: 600_000 }, () => {
  let ns: string;
  let dir: string;
  let epsDir: string;
  // Ends an agent a failed run left behind, before the describe's after hook deletes the namespace.
  const owner = suiteOwner();
  let churn: NodeJS.Timeout | undefined;
  let generation = 0;

  function writeSlice(i: number, second: number): void {
    const tmp = join(dir, `slice-${i}.tmp`);
    const eps = [{ ip: `10.244.${(i % 200) + 1}.10`, node: 'node1' }, { ip: `10.244.${(i % 200) + 1}.${10 + second}`, node: 'node1' }];
    writeFileSync(tmp, JSON.stringify(endpointSlice(name(i), 'IPv4', eps, PORTS)));
    renameSync(tmp, join(epsDir, `${name(i)}.json`));
  }

  before(async () => {
    await requireTools(['nft']);
    ns = await createNetns(`${RUN_PREFIX}sigterm`);
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-sigterm-'));
    epsDir = join(dir, 'endpoints');
    mkdirSync(epsDir);
    const objects = [
      { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16'] } },
      ...Array.from({ length: SERVICES }, (_, i) => service(name(i), { clusterIP: vip(i), clusterIPs: [vip(i)], ports: PORTS.map((p) => ({ ...p, targetPort: 8080 })) })),
    ];
    writeFileSync(join(dir, 'plan.json'), serializePlan(collectInputs(objects.map((object) => ({ object, source: 'e2e' }))).plan));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'nftables', nftables: { syncPeriod: '1s', minSyncPeriod: '10ms' } }),
    );
    for (let i = 0; i < SERVICES; i++) writeSlice(i, 1);
  });

  after(async () => {
    clearInterval(churn);
    if (ns) await deleteNetns(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`exits 0 with "stopping" and the rules in place, ${RUNS} times, each SIGTERM sent while nft runs`, async () => {
    let killedMidTool = 0;
    for (let run = 1; run <= RUNS; run++) {
      const agent = AgentProcess.start({
        ns,
        owner,
        backend: 'nftables',
        plan: join(dir, 'plan.json'),
        config: join(dir, 'config.json'),
        endpointsFile: epsDir,
        nodeIps: ['192.168.50.1'],
        healthAddr: '127.0.0.1:0',
        metricsAddr: '127.0.0.1:0',
      });
      const tail = () => agent.tail(15);
      await agent.waitSynced(0, `run ${run}: the first sync`);

      // Endpoints change all the time: a few Services' files every 20 ms.
      churn = setInterval(() => {
        generation++;
        for (let k = 0; k < 5; k++) writeSlice((generation * 5 + k) % SERVICES, 2 + (generation % 50));
      }, 20);
      // SIGTERM while the agent has a kernel tool running (a sync in flight).
      const pid = agent.pid;
      const inFlight = await until(`run ${run}: nft running under the agent`, () => childrenOf(pid).some((c) => commOf(c) === 'nft'), 30_000, 1)
        .then(() => true)
        .catch(() => false);
      const killedAt = Date.now();
      // SIGTERM, then SIGKILL only after the kubelet's grace period (30 s): a sync in flight
      // may take long here.
      const stopped = agent.stop();
      if (inFlight) killedMidTool++;
      const res = await stopped;
      clearInterval(churn);

      assert.equal(res.exitCode, 0, `run ${run}: exit code (signal ${String(res.signal)}, SIGTERM at ${killedAt}, exited ${Date.now() - killedAt} ms later)\n${tail()}`);
      assert.ok(agent.count('"msg":"stopping"') > 0, `run ${run}: the "stopping" line\n${tail()}`);
      assert.ok(agent.count('rules left in place') > 0, `run ${run}: stopped cleanly\n${tail()}`);
      const ruleset = (await nsExec(ns, ['nft', 'list', 'ruleset'])).stdout;
      for (const i of [0, Math.floor(SERVICES / 2), SERVICES - 1]) assert.ok(ruleset.includes(vip(i)), `run ${run}: ${name(i)}'s VIP ${vip(i)} still in the kernel`);
    }
    // The point of the test: most SIGTERMs hit a running nft, not an idle agent.
    assert.ok(killedMidTool >= RUNS / 2, `SIGTERM sent while nft ran in ${killedMidTool} of ${RUNS} runs`);
  });
});
