// One relayed TCP connection: connect to an endpoint (the next one when it refuses or
// does not answer in time), then splice the two sockets with pipe(), which pauses the
// side that reads while the other cannot take more: the relay holds at most a stream
// high-water mark per direction, however fast one side sends and slow the other reads.
// Half-close passes through (allowHalfOpen: a FIN goes on as a FIN); an error or reset on
// one side resets the other, and both sockets are gone when either vanishes.

import net, { type Socket } from 'node:net';
import { upstreamKey } from './balancer.js';
import type { Upstream } from './plan.js';

export interface TcpRelayOptions {
  /** How long a connect to one endpoint may take before the next is tried. */
  readonly connectTimeoutMs: number;
  /** TCP keepalive on both sockets: a peer that disappears silently is noticed. */
  readonly keepAliveMs: number;
}

export const DEFAULT_TCP_OPTIONS: TcpRelayOptions = { connectTimeoutMs: 2000, keepAliveMs: 30_000 };

/** Picks the endpoint for this connection, none of `refused`; undefined: none left. */
export type Choose = (refused: ReadonlySet<string>) => Upstream | undefined;

export interface TcpConnection {
  readonly client: Socket;
  upstream: Socket | undefined;
  endpoint: string | undefined;
  /** Bytes the relay holds in user space for this connection (both directions). */
  buffered(): number;
  /** Resets both sides. */
  destroy(): void;
}

function reset(s: Socket | undefined): void {
  if (!s || s.destroyed) return;
  // A socket still connecting would only be reset once connected: just drop it.
  if (s.connecting) {
    s.destroy();
    return;
  }
  // resetAndDestroy sends an RST (the peer sees "reset", not a clean end); only for TCP handles.
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

/**
 * Relays `client` (accepted with pauseOnConnect, so nothing is read before an
 * endpoint is there) to an endpoint. `onClosed` runs once, when both sockets are closed.
 */
export function relayTcp(client: Socket, choose: Choose, opts: TcpRelayOptions, onClosed: (c: TcpConnection) => void): TcpConnection {
  const refused = new Set<string>();
  let open = 1; // sockets not yet closed
  const conn: TcpConnection = {
    client,
    upstream: undefined,
    endpoint: undefined,
    buffered: () => client.writableLength + (conn.upstream?.writableLength ?? 0) + client.readableLength + (conn.upstream?.readableLength ?? 0),
    destroy: () => {
      reset(client);
      reset(conn.upstream);
    },
  };
  const closed = () => {
    if (--open === 0) onClosed(conn);
  };
  client.setKeepAlive(true, opts.keepAliveMs);
  client.setNoDelay(true);
  client.on('error', () => reset(conn.upstream));
  client.on('close', (hadError) => {
    // A clean close means both directions finished; anything else takes the other side down.
    if (hadError || !conn.endpoint) reset(conn.upstream);
    closed();
  });

  const attempt = (): void => {
    const ep = choose(refused);
    if (!ep) {
      // Nothing to relay to: the client sees a reset, as close to "refused" as an accepted socket gets.
      reset(client);
      return;
    }
    const key = upstreamKey(ep);
    const up = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true, noDelay: true });
    conn.upstream = up;
    open++;
    let connected = false;
    const timer = setTimeout(() => up.destroy(new Error(`connect to ${key} timed out`)), opts.connectTimeoutMs);
    up.on('close', (hadError) => {
      clearTimeout(timer);
      if (connected && hadError) reset(client);
      closed();
    });
    up.on('error', () => {
      if (connected) {
        reset(client);
        return;
      }
      // Refused, unreachable or too slow: the next endpoint, unless the client left meanwhile.
      refused.add(key);
      if (conn.upstream === up) conn.upstream = undefined;
      if (!client.destroyed) attempt();
    });
    up.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      if (client.destroyed) {
        reset(up);
        return;
      }
      conn.endpoint = key;
      up.setKeepAlive(true, opts.keepAliveMs);
      client.pipe(up);
      up.pipe(client);
    });
  };
  attempt();
  return conn;
}
