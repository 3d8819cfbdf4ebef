// Which endpoint a new connection goes to: round-robin over the current endpoints,
// ClientIP affinity with its timeout (refreshed on every use, as kube-proxy's
// `update @affinity` does), and skipping endpoints that already refused this
// connection. Pure apart from the injected clock.

import type { Upstream } from './plan.js';

export const upstreamKey = (u: Upstream): string => (u.ip.includes(':') ? `[${u.ip}]:${u.port}` : `${u.ip}:${u.port}`);

interface Affinity {
  readonly endpoint: string;
  expiresAt: number;
}

export class Balancer {
  private next = 0;
  private readonly affinity = new Map<string, Affinity>();

  constructor(
    /** Seconds; 0: no affinity. */
    private affinitySeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  setAffinity(seconds: number): void {
    if (seconds !== this.affinitySeconds) this.affinity.clear();
    this.affinitySeconds = seconds;
  }

  /**
   * The endpoint for a new connection from `client` among `endpoints`, none of
   * `refused`; undefined when every endpoint was tried.
   */
  pick(endpoints: readonly Upstream[], client: string, refused: ReadonlySet<string> = new Set()): Upstream | undefined {
    if (endpoints.length === 0) return undefined;
    const t = this.now();
    if (this.affinitySeconds > 0) {
      const a = this.affinity.get(client);
      if (a && a.expiresAt > t && !refused.has(a.endpoint)) {
        const ep = endpoints.find((e) => upstreamKey(e) === a.endpoint);
        if (ep) {
          a.expiresAt = t + this.affinitySeconds * 1000;
          return ep;
        }
      }
    }
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[(this.next + i) % endpoints.length]!;
      if (refused.has(upstreamKey(ep))) continue;
      this.next = (this.next + i + 1) % endpoints.length;
      if (this.affinitySeconds > 0) this.affinity.set(client, { endpoint: upstreamKey(ep), expiresAt: t + this.affinitySeconds * 1000 });
      return ep;
    }
    return undefined;
  }

  /** Forgets expired affinities (called now and then, so the map does not grow for ever). */
  expire(): void {
    const t = this.now();
    for (const [client, a] of this.affinity) if (a.expiresAt <= t) this.affinity.delete(client);
  }

  get affinityEntries(): number {
    return this.affinity.size;
  }
}
