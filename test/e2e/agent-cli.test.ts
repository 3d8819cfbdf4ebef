// `svcplane agent` as a process, in a throw-away namespace (so that, whatever
// happens, no rule lands in the root namespace): a health or metrics port already
// taken is one clear line naming the flag (exit 1, no stack, no sync); and the
// in-cluster API server address comes from KUBERNETES_SERVICE_HOST/PORT, which the
// NodeAgent's apiServerEndpoint sets.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { apiKubeConfig } from '../../src/cli/agent.js';
import { serializePlan } from '../../src/model/plan.js';
import { plan, port, svc } from '../helpers/model.js';
import { AgentProcess, type AgentFlags } from './lib/agent-process.js';
import { waitReady, tailStderr } from './lib/json-lines.js';
import { createNetns, deleteNetns, nsExec, RUN_PREFIX, spawnInNetns, stopProcess, type NetnsProcess } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { endpointSlice } from './suite/manifests.js';

const TAKEN = 10356;

describe('svcplane agent: ports and the API server address', { timeout: 300_000 }, () => {
  let ns: string;
  let dir: string;
  let blocker: NetnsProcess | undefined;

  before(async () => {
    await requireTools(['nft']);
    ns = await createNetns(`${RUN_PREFIX}agentcli`);
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-cli-'));
    writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })])));
    writeFileSync(join(dir, 'eps.json'), JSON.stringify(endpointSlice('web', 'IPv4', [{ ip: '10.244.1.10', node: 'node1' }], [{ port: 80 }])));
    // Something else (kube-proxy, say) already listens on the coexist health port.
    blocker = spawnInNetns(ns, ['node', '-e', `require('http').createServer().listen(${TAKEN}, '127.0.0.1', () => console.log(JSON.stringify({ ready: true })))`]);
    await waitReady(blocker, 'port blocker', tailStderr(blocker), 60_000);
  });

  after(async () => {
    if (blocker) await stopProcess(blocker);
    if (ns) await deleteNetns(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs an agent that must fail at start; resolves with its exit code and whole stderr. */
  async function agent(addrs: Pick<AgentFlags, 'healthAddr' | 'metricsAddr'>, owner: TestContext): Promise<{ exitCode: number | undefined; stderr: string }> {
    const a = AgentProcess.start({ ns, owner, backend: 'nftables', plan: join(dir, 'plan.json'), endpointsFile: join(dir, 'eps.json'), ...addrs });
    const { exitCode } = await a.waitExit();
    return { exitCode, stderr: `${a.stderr()}\n` };
  }

  it('a taken --health-addr or --metrics-addr: exit 1, one line naming the flag and the address, no stack, no sync', async (t) => {
    const h = await agent({ healthAddr: `127.0.0.1:${TAKEN}`, metricsAddr: '127.0.0.1:0' }, t);
    assert.equal(h.exitCode, 1, h.stderr);
    const line = `error: --health-addr: cannot listen on 127.0.0.1:${TAKEN}: address already in use (another process, e.g. kube-proxy, listens there)`;
    assert.ok(h.stderr.includes(`${line}\n`), h.stderr);
    assert.ok(!/\n\s+at /.test(h.stderr), `no stack trace:\n${h.stderr}`);
    assert.ok(!h.stderr.includes('"msg":"synced"'), 'no sync before the failure');
    assert.ok(!(await nsExec(ns, ['nft', 'list', 'ruleset'])).stdout.includes('svcplane'), 'no rules written');

    const m = await agent({ healthAddr: '127.0.0.1:0', metricsAddr: `127.0.0.1:${TAKEN}` }, t);
    assert.equal(m.exitCode, 1, m.stderr);
    assert.match(m.stderr, new RegExp(`^error: --metrics-addr: cannot listen on 127\\.0\\.0\\.1:${TAKEN}: address already in use`, 'm'));

    // The default in coexist mode is that port too: the message names the flag the user did not give.
    const d = await agent({ healthAddr: null, metricsAddr: '127.0.0.1:0' }, t);
    assert.equal(d.exitCode, 1, d.stderr);
    assert.match(d.stderr, new RegExp(`^error: --health-addr: cannot listen on 0\\.0\\.0\\.0:${TAKEN}: address already in use`, 'm'));

    const bad = await agent({ healthAddr: 'nowhere', metricsAddr: null }, t);
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /--health-addr: expected HOST:PORT, got "nowhere"/);
  });

  it('in cluster: the API server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (IPv6 bracketed)', async () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      process.env.KUBERNETES_SERVICE_HOST = '10.0.0.10';
      process.env.KUBERNETES_SERVICE_PORT = '6443';
      assert.equal((await apiKubeConfig(undefined)).server, 'https://10.0.0.10:6443');
      process.env.KUBERNETES_SERVICE_HOST = 'fd00::10';
      assert.equal((await apiKubeConfig(undefined)).server, 'https://[fd00::10]:6443');
      delete process.env.KUBERNETES_SERVICE_HOST;
      await assert.rejects(() => apiKubeConfig(undefined), /--kubeconfig: no API server/);
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
