// Loopback endpoints and clients for the relay tests: every 127.x address is this host,
// so "endpoints" are servers on 127.0.0.2, 127.0.0.3, ... in this process.

import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import type { PortPlan, Upstream } from '../../src/userspace/plan.js';

export interface TcpEndpoint extends Upstream {
  readonly name: string;
  readonly server: net.Server;
  /** Sockets the server accepted and that are still open. */
  readonly open: Set<net.Socket>;
  close(): Promise<void>;
}

/**
 * A TCP server on `ip` that, per connection, writes `<name>\n` and then, by mode:
 * 'echo' echoes what it reads and ends when the client ends; 'line' ends at once.
 */
export async function tcpEndpoint(name: string, ip: string, mode: 'echo' | 'line' = 'line', port = 0): Promise<TcpEndpoint> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    if (mode === 'line') s.end(`${name}\n`);
    else {
      s.write(`${name}\n`);
      s.pipe(s);
    }
  });
  await new Promise<void>((r) => server.listen({ host: ip, port }, r));
  const p = (server.address() as AddressInfo).port;
  return {
    name,
    ip,
    port: p,
    server,
    open,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface UdpEndpoint extends Upstream {
  readonly name: string;
  close(): Promise<void>;
}

/** A UDP server on `ip` answering every datagram with `<name> <datagram>`. */
export async function udpEndpoint(name: string, ip: string, port = 0): Promise<UdpEndpoint> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, r) => sock.send(`${name} ${m.toString()}`, r.port, r.address));
  await new Promise<void>((r) => sock.bind({ address: ip, port }, r));
  return { name, ip, port: sock.address().port, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** Connects to the relay, reads until the server's first line, returns it (the endpoint's name). */
export function tcpHello(port: number, opts: { localAddress?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, ...opts });
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString();
      const i = data.indexOf('\n');
      if (i >= 0) {
        s.destroy();
        resolve(data.slice(0, i));
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed before a line (got ${JSON.stringify(data)})`)));
  });
}

/** A long-lived client: `send` a line and get its echo back. */
export async function tcpSession(port: number): Promise<{ server: string; echo(line: string): Promise<string>; socket: net.Socket }> {
  const s = net.connect({ host: '127.0.0.1', port });
  let buf = '';
  const waiters: ((l: string) => void)[] = [];
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiters.shift()?.(line);
    }
  });
  const next = () => new Promise<string>((r) => waiters.push(r));
  const server = await next();
  return {
    server,
    socket: s,
    echo: (line) => {
      const p = next();
      s.write(`${line}\n`);
      return p;
    },
  };
}

/** One datagram from a client socket (bound to `sourcePort` if given), one reply; undefined on timeout. */
export function udpAsk(sock: dgram.Socket, port: number, msg: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.removeListener('message', on);
      resolve(undefined);
    }, timeoutMs);
    const on = (m: Buffer) => {
      clearTimeout(timer);
      sock.removeListener('message', on);
      resolve(m.toString());
    };
    sock.on('message', on);
    sock.send(msg, port, '127.0.0.1');
  });
}

export async function udpClient(address = '127.0.0.1'): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address, port: 0 }, r));
  return s;
}

/** A minimal plan for one Service port relayed to `endpoints` (no redirect, no node port). */
export function portPlan(endpoints: readonly Upstream[], extra: Partial<PortPlan> = {}): PortPlan {
  const traffic = { endpoints: endpoints.map((e) => ({ ip: e.ip, port: e.port })), none: 'reject' as const };
  return {
    key: 'default/web:80/TCP/TCP/IPv4',
    service: 'default/web',
    label: 'default/web:80/TCP',
    protocol: 'TCP',
    family: 'IPv4',
    port: 80,
    clusterIP: '10.96.0.10',
    internal: traffic,
    external: traffic,
    externalAddresses: [],
    firewalledAddresses: [],
    sourceRanges: [],
    nodePort: 0,
    nodePortAddresses: { all: false, ips: [] },
    affinitySeconds: 0,
    shortCircuit: { sources: [], endpoints: [] },
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function eventually(what: string, f: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!f()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
