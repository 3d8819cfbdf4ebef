// The one-machine cluster: the testbed's namespaces, the API server holding the Nodes,
// and the real compiled agent on every node (backend chosen per node), each with its
// own kubeconfig. `withCluster` tears everything down (agents SIGTERMed and awaited,
// API server stopped, namespaces deleted) on success and on failure.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { requireTools } from '../e2e/lib/preflight.js';
import { ClusterAgent, ensureBuilt, type AgentBackend, type AgentExit, type AgentFiles } from './agent-process.js';
import { ClusterApiServer } from './api-server.js';
import { nodeObject } from './objects.js';
import { CLUSTER_CIDR, SERVICE_CIDR, UNDERLAY } from './plan.js';
import { createClusterTestbed, type ClusterTestbed, type TestbedOptions } from './testbed.js';

export interface ClusterOptions extends TestbedOptions {
  /** Backend of each node, in node order (cycled when shorter than the node count). */
  readonly backends: readonly AgentBackend[];
  /** KubeProxyConfiguration syncPeriod / minSyncPeriod (Go durations). */
  readonly syncPeriod?: string;
  readonly minSyncPeriod?: string;
  /**
   * KubeProxyConfiguration conntrack.tcpBeLiberal: every agent sets nf_conntrack_tcp_be_liberal
   * in its node and, on iptables, renders no INVALID drop (kube-proxy's behaviour). Default off.
   */
  readonly conntrackTCPBeLiberal?: boolean;
  /** Start the agents and wait for each one's first sync (default true). */
  readonly startAgents?: boolean;
}

export interface Cluster {
  readonly bed: ClusterTestbed;
  readonly api: ClusterApiServer;
  /** The running agent of each node, by node name. */
  readonly agents: Map<string, ClusterAgent>;
  agent(node: string): ClusterAgent;
  backendOf(node: string): AgentBackend;
  /** Starts node's agent (a new process) and waits for its first sync (up to `readyTimeoutMs`, default 120 s). */
  startAgent(node: string, readyTimeoutMs?: number): Promise<ClusterAgent>;
  /** SIGTERM node's agent and wait for it to exit; returns how it ended. */
  stopAgent(node: string): Promise<AgentExit>;
  destroy(): Promise<void>;
}

export async function createCluster(opts: ClusterOptions): Promise<Cluster> {
  const needs = ['nft', 'curl', ...(opts.backends.includes('iptables') ? ['iptables-restore', 'iptables-save'] : [])];
  await requireTools(needs);
  await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-cluster-'));
  let bed: ClusterTestbed | undefined;
  let api: ClusterApiServer | undefined;
  const agents = new Map<string, ClusterAgent>();
  const destroy = async () => {
    const codes = await Promise.allSettled([...agents.values()].map((a) => a.stop()));
    agents.clear();
    await api?.stop().catch(() => {});
    try {
      await bed?.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const failed = codes.flatMap((c) => (c.status === 'rejected' ? [String(c.reason)] : []));
    if (failed.length) throw new Error(`agents did not stop: ${failed.join('; ')}`);
  };
  try {
    bed = await createClusterTestbed(opts);
    api = await ClusterApiServer.start(bed.api);
    const files = writeAgentFiles(dir, api, opts);
    await api.upsertMany(bed.nodes.map((n) => ({ resource: 'nodes' as const, obj: nodeObject(n) })));
    const backendOf = (node: string) => {
      const i = bed!.nodes.findIndex((n) => n.name === node);
      if (i < 0) throw new Error(`no node ${node}`);
      return opts.backends[i % opts.backends.length]!;
    };
    const startAgent = async (node: string, readyTimeoutMs = 120_000) => {
      if (agents.get(node)?.running()) throw new Error(`${node}: an agent is already running`);
      const backend = backendOf(node);
      const agent = ClusterAgent.start(node, bed!.node(node).ns, backend, files[backend]);
      agents.set(node, agent);
      await agent.waitSynced(0, readyTimeoutMs);
      return agent;
    };
    const cluster: Cluster = {
      bed,
      api,
      agents,
      agent: (node) => {
        const a = agents.get(node);
        if (!a) throw new Error(`no agent on ${node}`);
        return a;
      },
      backendOf,
      startAgent,
      stopAgent: async (node) => {
        const a = agents.get(node);
        if (!a) throw new Error(`no agent on ${node}`);
        return a.stop();
      },
      destroy,
    };
    if (opts.startAgents ?? true) {
      // Started together (a DaemonSet rolls out to every node at once), ready one by one.
      for (const n of bed.nodes) agents.set(n.name, ClusterAgent.start(n.name, n.ns, backendOf(n.name), files[backendOf(n.name)]));
      for (const a of agents.values()) await a.waitSynced(0, 120_000);
    }
    return cluster;
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
}

export async function withCluster<T>(opts: ClusterOptions, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await createCluster(opts);
  try {
    return await fn(c);
  } finally {
    await c.destroy();
  }
}

/** The kubeconfig, the plan (the Service CIDR, as the ConfigMap carries it) and one config per backend. */
function writeAgentFiles(dir: string, api: ClusterApiServer, opts: ClusterOptions): Record<AgentBackend, AgentFiles> {
  const kubeconfig = join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfig, api.kubeconfig());
  const cidr = { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: [SERVICE_CIDR] } };
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, serializePlan(collectInputs([{ object: cidr, source: 'cluster testbed' }]).plan));
  const sync = { syncPeriod: opts.syncPeriod ?? '10s', minSyncPeriod: opts.minSyncPeriod ?? '100ms' };
  const out = {} as Record<AgentBackend, AgentFiles>;
  for (const backend of ['nftables', 'iptables', 'userspace'] as const) {
    const config = join(dir, `config-${backend}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        ...(backend === 'userspace' ? {} : { mode: backend }),
        clusterCIDR: CLUSTER_CIDR,
        detectLocalMode: 'ClusterCIDR',
        nodePortAddresses: [UNDERLAY.cidr],
        iptables: sync,
        nftables: sync,
        ...(opts.conntrackTCPBeLiberal ? { conntrack: { tcpBeLiberal: true } } : {}),
      }),
    );
    out[backend] = { kubeconfig, plan, config };
  }
  return out;
}
