// UDP relaying for one listening socket: each client (address and port) gets a session,
// a socket of our own connected to one endpoint, so the endpoint's replies find their
// way back to that client. A session ends after `idleMs` without a datagram either way
// (the userspace counterpart of the conntrack UDP timeout), when its endpoint leaves,
// or when the endpoint answers "port unreachable": then the client's last datagram is
// sent to the next endpoint. UDP has no back-pressure: datagrams that arrive while a
// session connects are queued up to a small bound, the rest are dropped (as a full
// socket buffer would).

import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import { upstreamKey } from './balancer.js';
import type { Upstream } from './plan.js';

export interface UdpRelayOptions {
  readonly idleMs: number;
  /** Sessions per listening socket; datagrams from further new clients are dropped. */
  readonly maxSessions: number;
}

export const DEFAULT_UDP_OPTIONS: UdpRelayOptions = { idleMs: 30_000, maxSessions: 16_384 };

const QUEUE_LIMIT = 64;

/** Picks the endpoint for a new session of `client`, none of `refused`. */
export type ChooseUdp = (client: RemoteInfo, refused: ReadonlySet<string>) => Upstream | undefined;

interface Session {
  readonly client: RemoteInfo;
  readonly refused: Set<string>;
  socket: Socket | undefined;
  endpoint: string;
  connected: boolean;
  queue: Buffer[];
  last: Buffer | undefined;
  timer: NodeJS.Timeout;
}

export class UdpRelay {
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  constructor(
    private readonly listener: Socket,
    private readonly choose: ChooseUdp,
    private readonly opts: UdpRelayOptions,
  ) {
    listener.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Ends the sessions whose endpoint is not in `alive` (upstream keys): their next datagram picks again. */
  keepOnly(alive: ReadonlySet<string>): void {
    for (const s of [...this.sessions.values()]) if (!alive.has(s.endpoint)) this.end(s);
  }

  /** Ends every session; the listening socket is the caller's. */
  close(): void {
    this.closed = true;
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  private fromClient(msg: Buffer, client: RemoteInfo): void {
    if (this.closed) return;
    const id = `${client.address}|${client.port}`;
    let s = this.sessions.get(id);
    if (!s) {
      if (this.sessions.size >= this.opts.maxSessions) return;
      const created = this.open(id, client, new Set());
      if (!created) return; // no endpoint: dropped
      s = created;
    }
    s.timer.refresh();
    s.last = msg;
    if (s.connected) s.socket!.send(msg);
    else if (s.queue.length < QUEUE_LIMIT) s.queue.push(msg);
  }

  private open(id: string, client: RemoteInfo, refused: Set<string>): Session | undefined {
    const ep = this.choose(client, refused);
    if (!ep) return undefined;
    const s: Session = {
      client,
      refused,
      socket: undefined,
      endpoint: upstreamKey(ep),
      connected: false,
      queue: [],
      last: undefined,
      timer: setTimeout(() => this.end(s), this.opts.idleMs),
    };
    this.sessions.set(id, s);
    this.connect(s, ep);
    return s;
  }

  private connect(s: Session, ep: Upstream): void {
    const sock = dgram.createSocket(ep.ip.includes(':') ? 'udp6' : 'udp4');
    s.socket = sock;
    s.endpoint = upstreamKey(ep);
    s.connected = false;
    sock.on('message', (reply) => {
      if (s.socket !== sock) return;
      s.timer.refresh();
      this.listener.send(reply, s.client.port, s.client.address);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (s.socket !== sock) return;
      if (err.code === 'ECONNREFUSED') this.retry(s);
      else this.end(s);
    });
    sock.connect(ep.port, ep.ip, () => {
      if (s.socket !== sock) return;
      s.connected = true;
      for (const m of s.queue) sock.send(m);
      s.queue = [];
    });
  }

  /** The endpoint answered "port unreachable": the same client datagram goes to the next one. */
  private retry(s: Session): void {
    s.refused.add(s.endpoint);
    const old = s.socket;
    s.socket = undefined;
    old?.close();
    const ep = this.choose(s.client, s.refused);
    if (!ep) {
      this.end(s);
      return;
    }
    if (s.last) s.queue = [s.last];
    this.connect(s, ep);
  }

  private end(s: Session): void {
    clearTimeout(s.timer);
    const id = `${s.client.address}|${s.client.port}`;
    if (this.sessions.get(id) === s) this.sessions.delete(id);
    const sock = s.socket;
    s.socket = undefined;
    try {
      sock?.close();
    } catch {
      // already closed
    }
  }
}
