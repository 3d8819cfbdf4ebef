// Drives the cluster's API server child (fixtures/api-server-child.ts) from the test:
// objects in, failures on demand, load counters out.

import { fileURLToPath } from 'node:url';
import type { Resource } from '../agent/fake-apiserver.js';
import { onJsonLines, tailStderr, waitReady } from '../e2e/lib/json-lines.js';
import { spawnInNetns, stopProcess, type NetnsProcess } from '../e2e/lib/netns.js';
import type { ClusterHost } from './testbed.js';
import { API_PORT } from './plan.js';

const CHILD = fileURLToPath(new URL('./fixtures/api-server-child.ts', import.meta.url));

type Obj = Record<string, unknown>;

/** What one client address (one node's agent) cost the API server so far. */
export interface PeerLoad {
  readonly connections: number;
  readonly open: number;
  /** Bytes the API server sent to it (lists and watch events). */
  readonly bytesOut: number;
  readonly bytesIn: number;
}

export interface ApiStats {
  /** By client address. */
  readonly peers: Record<string, PeerLoad>;
  /** Open watches by resource, all clients. */
  readonly watches: Record<Resource, number>;
  readonly requests: { readonly lists: number; readonly watches: number };
}

export class ClusterApiServer {
  private nextId = 1;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();

  private constructor(
    private readonly child: NetnsProcess,
    private readonly stderr: () => string,
    /** http://<underlay address>:<port>, what every node's kubeconfig points at. */
    readonly url: string,
  ) {
    onJsonLines(child, (m) => {
      if (typeof m.id === 'number') this.waiting.get(m.id)?.(m);
    });
  }

  static async start(host: ClusterHost): Promise<ClusterApiServer> {
    const child = spawnInNetns(host.ns, [process.execPath, '--import', 'tsx', CHILD, host.ip, String(API_PORT)]);
    const stderr = tailStderr(child);
    try {
      // tsx compiles on start: minutes on a loaded 2-core machine have been seen.
      await waitReady(child, 'cluster API server', stderr, 180_000);
    } catch (err) {
      await stopProcess(child);
      throw err;
    }
    return new ClusterApiServer(child, stderr, `http://${host.ip}:${API_PORT}`);
  }

  private async send(cmd: Obj): Promise<Record<string, unknown>> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`cluster API server exited: ${this.stderr()}`);
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.child.stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
    const r = await reply;
    this.waiting.delete(id);
    if (r.ok !== true) throw new Error(`cluster API server: ${String(cmd.op)}: ${String(r.error)}`);
    return r;
  }

  async upsert(resource: Resource, obj: Obj): Promise<void> {
    await this.send({ op: 'upsert', resource, obj });
  }

  async upsertMany(objs: readonly { resource: Resource; obj: Obj }[]): Promise<void> {
    // In batches: one stdin line per command, kept well under any pipe buffer concern.
    for (let i = 0; i < objs.length; i += 500) await this.send({ op: 'upsertMany', objs: objs.slice(i, i + 500) });
  }

  async remove(resource: Resource, namespace: string | undefined, name: string): Promise<void> {
    await this.send({ op: 'remove', resource, namespace, name });
  }

  /** Unreachable: stops listening and cuts every connection (connects are refused). */
  async down(): Promise<void> {
    await this.send({ op: 'down' });
  }

  /** Back on the same address with the same objects. */
  async up(): Promise<void> {
    await this.send({ op: 'up' });
  }

  async stats(): Promise<ApiStats> {
    const r = await this.send({ op: 'stats' });
    return { peers: r.peers as ApiStats['peers'], watches: r.watches as ApiStats['watches'], requests: r.requests as ApiStats['requests'] };
  }

  /** A kubeconfig (JSON) for an agent. */
  kubeconfig(): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'testbed', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'agent', user: { token: 'cluster-token' } }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'agent' } }],
      'current-context': 'testbed',
    });
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    await stopProcess(this.child, 3000);
  }
}
