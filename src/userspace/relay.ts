// One Service port in one family, relayed in user space: its listeners, its endpoints
// and balancer, its live connections and UDP sessions.
//
// Listeners (all sharing the endpoints and the balancer):
// - internal: the wildcard address, a port the kernel picks; ClusterIP traffic is
//   redirected here by the nft table;
// - external: the same, for external IPs and load-balancer IPs (only when there are any);
// - node port: the node port itself, on the node port addresses (the wildcard when every
//   address serves), so it works without any redirect rule, and holds the port.
//
// `update` swaps the plan in place: new connections use the new endpoints, established
// TCP connections stay (as conntrack keeps them in the kernel backends); UDP sessions
// to endpoints that left end, as the agent's conntrack cleanup does for the kernel.

import dgram from 'node:dgram';
import net from 'node:net';
import { cidrContains, parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.js';
import { Balancer, upstreamKey } from './balancer.js';
import type { PortPlan, Upstream } from './plan.js';
import type { BoundPorts } from './redirect-rules.js';
import { relayTcp, type TcpConnection, type TcpRelayOptions } from './tcp-relay.js';
import { UdpRelay, type UdpRelayOptions } from './udp-relay.js';

export interface RelayOptions {
  readonly tcp: TcpRelayOptions;
  readonly udp: UdpRelayOptions;
  /** A listener that cannot be opened (e.g. a node port already in use); retried at the next update. */
  readonly onListenError: (relay: string, where: string, err: Error) => void;
  /** A listener opened (the only way to learn a kernel-picked port without redirect rules). */
  readonly onListen?: (relay: string, where: string, port: number) => void;
  readonly now?: () => number;
}

type Kind = 'internal' | 'external';

interface Listener {
  readonly kind: Kind;
  /** `internal`, `external` or `node port ADDR:PORT`, for logs. */
  readonly where: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Anything TCP or UDP that can be told "these endpoints are the live ones". */
interface UdpListener extends Listener {
  readonly relay: UdpRelay;
}

const anyAddress = (family: PortPlan['family']) => (family === 'IPv4' ? '0.0.0.0' : '::');
const endpointKeys = (eps: readonly Upstream[]) => new Set(eps.map(upstreamKey));

export class ServicePortRelay {
  private plan: PortPlan;
  private readonly balancer: Balancer;
  private shortCircuitSources: ParsedCIDR[] = [];
  private internal: Listener | undefined;
  private external: Listener | undefined;
  /** By bind address ('' for the wildcard). */
  private readonly nodePorts = new Map<string, Listener>();
  private nodePortBound = 0;
  private readonly connections = new Set<TcpConnection>();
  private readonly udpListeners = new Set<UdpListener>();

  constructor(
    plan: PortPlan,
    private readonly opts: RelayOptions,
  ) {
    this.plan = plan;
    this.balancer = new Balancer(plan.affinitySeconds, opts.now);
    this.setPlan(plan);
  }

  get key(): string {
    return this.plan.key;
  }

  get current(): PortPlan {
    return this.plan;
  }

  bound(): BoundPorts {
    return {
      ...(this.internal ? { internal: this.internal.port } : {}),
      ...(this.external ? { external: this.external.port } : {}),
    };
  }

  /** Open TCP connections and UDP sessions (for tests and metrics). */
  stats(): { tcpConnections: number; udpSessions: number; bufferedBytes: number; affinities: number } {
    let buffered = 0;
    for (const c of this.connections) buffered += c.buffered();
    let sessions = 0;
    for (const l of this.udpListeners) sessions += l.relay.sessionCount;
    return { tcpConnections: this.connections.size, udpSessions: sessions, bufferedBytes: buffered, affinities: this.balancer.affinityEntries };
  }

  /** Takes a new plan of the same key; opens missing listeners. Returns whether anything changed. */
  async update(plan: PortPlan): Promise<boolean> {
    const changed = JSON.stringify(plan) !== JSON.stringify(this.plan);
    if (changed) {
      this.setPlan(plan);
      const alive = new Set([...endpointKeys(plan.internal.endpoints), ...endpointKeys(plan.external.endpoints), ...endpointKeys(plan.shortCircuit.endpoints)]);
      for (const l of this.udpListeners) l.relay.keepOnly(alive);
    }
    this.balancer.expire();
    await this.reconcileListeners();
    return changed;
  }

  /**
   * Closes the listeners. `connections`: 'keep' leaves established TCP connections
   * running (a Service removed), 'reset' ends them too (the proxy stops).
   */
  async close(connections: 'keep' | 'reset'): Promise<void> {
    const all = [this.internal, this.external, ...this.nodePorts.values()].filter((l): l is Listener => !!l);
    this.internal = this.external = undefined;
    this.nodePorts.clear();
    await Promise.all(all.map((l) => l.close()));
    if (connections === 'reset') for (const c of this.connections) c.destroy();
  }

  private setPlan(plan: PortPlan): void {
    this.plan = plan;
    this.balancer.setAffinity(plan.affinitySeconds);
    this.shortCircuitSources = plan.shortCircuit.sources.map((c) => parseCIDR(c)!).filter(Boolean);
  }

  private endpointsFor(kind: Kind, client: string): readonly Upstream[] {
    if (kind === 'internal') return this.plan.internal.endpoints;
    if (this.shortCircuitSources.length) {
      const ip = parseIP(client);
      if (ip && this.shortCircuitSources.some((c) => cidrContains(c, ip))) return this.plan.shortCircuit.endpoints;
    }
    return this.plan.external.endpoints;
  }

  private async reconcileListeners(): Promise<void> {
    const p = this.plan;
    const any = anyAddress(p.family);
    if (!this.internal) this.internal = await this.tryListen('internal', 'internal', any, 0);
    if (p.externalAddresses.length === 0 && this.external) {
      await this.external.close();
      this.external = undefined;
    } else if (p.externalAddresses.length > 0 && !this.external) {
      this.external = await this.tryListen('external', 'external', any, 0);
    }
    // Node ports: rebind everything when the port changed; otherwise add and remove addresses.
    const wanted = p.nodePort === 0 ? [] : p.nodePortAddresses.all ? [''] : [...p.nodePortAddresses.ips];
    if (this.nodePortBound !== p.nodePort) {
      await Promise.all([...this.nodePorts.values()].map((l) => l.close()));
      this.nodePorts.clear();
      this.nodePortBound = p.nodePort;
    }
    for (const [addr, l] of [...this.nodePorts]) {
      if (!wanted.includes(addr)) {
        this.nodePorts.delete(addr);
        await l.close();
      }
    }
    for (const addr of wanted) {
      if (this.nodePorts.has(addr)) continue;
      const l = await this.tryListen('external', `node port ${addr || any}:${p.nodePort}`, addr || any, p.nodePort);
      if (l) this.nodePorts.set(addr, l);
    }
  }

  private async tryListen(kind: Kind, where: string, host: string, port: number): Promise<Listener | undefined> {
    try {
      const l = this.plan.protocol === 'TCP' ? await this.listenTcp(kind, where, host, port) : await this.listenUdp(kind, where, host, port);
      this.opts.onListen?.(this.plan.label, where, l.port);
      return l;
    } catch (e) {
      this.opts.onListenError(this.plan.label, where, e as Error);
      return undefined;
    }
  }

  private listenTcp(kind: Kind, where: string, host: string, port: number): Promise<Listener> {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => {
      const peer = client.remoteAddress ?? '';
      const conn = relayTcp(client, (refused) => this.balancer.pick(this.endpointsFor(kind, peer), peer, refused), this.opts.tcp, (c) => this.connections.delete(c));
      this.connections.add(conn);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: this.plan.family === 'IPv6', backlog: 4096 }, () => {
        server.removeListener('error', reject);
        server.on('error', (e) => this.opts.onListenError(this.plan.label, where, e));
        resolve({
          kind,
          where,
          port: (server.address() as net.AddressInfo).port,
          // server.close's callback waits for every accepted connection to end; the
          // listening socket itself is closed at once, which is all we wait for.
          close: async () => void server.close(),
        });
      });
    });
  }

  private listenUdp(kind: Kind, where: string, host: string, port: number): Promise<Listener> {
    const sock = dgram.createSocket({ type: this.plan.family === 'IPv4' ? 'udp4' : 'udp6', ipv6Only: this.plan.family === 'IPv6' });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.removeListener('error', reject);
        // An ICMP error about a reply to a client must not take the listener down.
        sock.on('error', () => {});
        const relay = new UdpRelay(sock, (client, refused) => this.balancer.pick(this.endpointsFor(kind, client.address), client.address, refused), this.opts.udp);
        const listener: UdpListener = {
          kind,
          where,
          port: sock.address().port,
          relay,
          close: () =>
            new Promise<void>((r) => {
              relay.close();
              this.udpListeners.delete(listener);
              sock.close(() => r());
            }),
        };
        this.udpListeners.add(listener);
        resolve(listener);
      });
    });
  }
}
