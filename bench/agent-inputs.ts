// What the agent benches start an agent from, in one place: its plan and kube-proxy
// config, its Services and EndpointSlices (files in offline mode; the in-test API server,
// a child process in the bench's namespace, in API mode), and the command line the image
// and the DaemonSet would give it. bench/agent-memory.ts (through the first sync, a resync
// and changes) and bench/agent-idle-memory.ts (the idle agent) both start it this way, so
// the idle figure and the loaded ones come from the same start.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serializePlan } from '../src/model/plan.js';
import { FakeApiChild } from '../test/e2e/lib/fake-api-child.js';
import { agentEnvVars, agentNodeOptions } from './agent-scale.js';
import { apiService, sliceManifest } from './synthetic-manifests.js';
import { serviceName, sliceAt, syntheticInput } from './synthetic.js';

export type AgentBenchBackend = 'nftables' | 'iptables';
export type AgentBenchSource = 'offline' | 'api';

/** The node the agent believes it runs on (no endpoint of the synthetic cluster is on it). */
export const BENCH_NODE_IP = '192.168.50.1';

/** A kubeconfig for the in-test API server on 127.0.0.1:port (plain HTTP, a token it ignores). */
export function fakeKubeconfig(port: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: 'agent', user: { token: 'bench' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'agent' } }],
    'current-context': 'fake',
  };
}

export interface AgentInputOptions {
  readonly backend: AgentBenchBackend;
  readonly source: AgentBenchSource;
  readonly services: number;
  readonly perService: number;
  /** kube-proxy's minSyncPeriod and syncPeriod, e.g. '1s' and '60s'. */
  readonly minSyncPeriod: string;
  readonly syncPeriod: string;
}

export interface AgentInputs {
  /** The agent's flags that name its inputs: --backend, --plan, --config and the source's. */
  readonly args: string[];
  /** Offline mode: the folder of EndpointSlice files (one per Service, `fileOf(i)`). */
  readonly endpointsDir: string;
  readonly fileOf: (i: number) => string;
  /** API mode: the in-test API server serving the Services and their slices; stop it when done. */
  readonly api?: FakeApiChild;
}

/**
 * Writes the agent's inputs into `dir` (and, in API mode, starts the in-test API server in
 * namespace `ns` and fills it): the synthetic cluster of `services` Services with
 * `perService` endpoints each. In API mode the plan carries only the Service CIDRs.
 */
export async function writeAgentInputs(dir: string, ns: string, o: AgentInputOptions): Promise<AgentInputs> {
  const input = syntheticInput(o.services, new Map(), o.perService);
  await writeFile(join(dir, 'plan.json'), serializePlan(o.source === 'api' ? { ...input.plan, services: [] } : input.plan));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: o.backend,
      clusterCIDR: '10.244.0.0/16',
      detectLocalMode: 'ClusterCIDR',
      [o.backend]: { minSyncPeriod: o.minSyncPeriod, syncPeriod: o.syncPeriod },
    }),
  );
  const args = ['--backend', o.backend, '--plan', join(dir, 'plan.json'), '--config', join(dir, 'config.json')];
  const endpointsDir = join(dir, 'endpoints');
  const fileOf = (i: number) => join(endpointsDir, `${serviceName(i)}.json`);
  if (o.source === 'offline') {
    await mkdir(endpointsDir);
    for (const s of input.endpointSlices) await writeFile(join(endpointsDir, `${s.serviceName}.json`), JSON.stringify(sliceManifest(s)));
    return { args: [...args, '--endpoints-file', endpointsDir], endpointsDir, fileOf };
  }
  const api = await FakeApiChild.start(ns);
  try {
    // 200 at a time: the server takes them concurrently, 44k one by one would take minutes.
    for (let i = 0; i < o.services; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(o.services, i + 200); j++) batch.push(api.upsert('services', apiService(j)), api.upsert('endpointslices', sliceManifest(sliceAt(j, 0, o.perService))));
      await Promise.all(batch);
    }
    await writeFile(join(dir, 'kubeconfig.json'), JSON.stringify(fakeKubeconfig(api.port)));
  } catch (e) {
    await api.stop();
    throw e;
  }
  return { args: [...args, '--kubeconfig', join(dir, 'kubeconfig.json')], endpointsDir, fileOf, api };
}

/**
 * The command that runs the compiled agent `cli` as the image does: through `env` with the
 * image's NODE_OPTIONS and environment (agentNodeOptions, agentEnvVars: BENCH_AGENT_NODE_OPTIONS
 * and BENCH_AGENT_ENV change them), `extraEnv` after them, `nodeArgs` before the script,
 * node1's name and address, health and metrics on loopback.
 */
export function agentCommand(cli: string, inputs: AgentInputs, extraEnv: readonly string[] = [], nodeArgs: readonly string[] = []): string[] {
  const env = [`NODE_OPTIONS=${agentNodeOptions()}`, ...Object.entries(agentEnvVars()).map(([k, v]) => `${k}=${v}`), ...extraEnv];
  return [
    'env', ...env, process.execPath, ...nodeArgs, cli, 'agent', ...inputs.args,
    '--node-name', 'node1', '--node-ip', BENCH_NODE_IP, '--health-addr', '127.0.0.1:10256', '--metrics-addr', '127.0.0.1:10249',
  ];
}
