// The relay with real sockets on loopback, in this process: endpoint choice
// (round-robin, ClientIP affinity and its timeout, skipping refusing endpoints), live
// endpoint updates, UDP sessions and their idle timeout, back-pressure, and resources
// freed when a peer vanishes.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { ServicePortRelay, type RelayOptions } from '../../src/userspace/relay.js';
import { eventually, portPlan, sleep, tcpEndpoint, tcpHello, tcpSession, udpAsk, udpClient, udpEndpoint, type TcpEndpoint } from './loopback.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const listenErrors: string[] = [];
const options = (extra: Partial<RelayOptions> = {}): RelayOptions => ({
  tcp: { connectTimeoutMs: 500, keepAliveMs: 1000 },
  udp: { idleMs: 5000, maxSessions: 100 },
  onListenError: (relay, where, err) => listenErrors.push(`${relay} ${where}: ${err.message}`),
  ...extra,
});

const relays: ServicePortRelay[] = [];
const closers: (() => Promise<void>)[] = [];

async function openRelay(...args: ConstructorParameters<typeof ServicePortRelay>): Promise<{ relay: ServicePortRelay; port: number }> {
  const relay = new ServicePortRelay(...args);
  relays.push(relay);
  await relay.update(args[0]);
  const port = relay.bound().internal;
  assert.ok(port, `listening: ${listenErrors.join('; ')}`);
  return { relay, port };
}

async function endpoints(n: number, mode: 'echo' | 'line' = 'line'): Promise<TcpEndpoint[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const e = await tcpEndpoint(String.fromCharCode(97 + i), `127.0.0.${2 + i}`, mode);
    closers.push(() => e.close());
    out.push(e);
  }
  return out;
}

after(async () => {
  for (const r of relays) await r.close('reset');
  for (const c of closers) await c();
});

describe('userspace relay: TCP', TIMEOUT, () => {
  it('spreads new connections round-robin over the endpoints', async () => {
    const eps = await endpoints(3);
    const { port } = await openRelay(portPlan(eps), options());
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await tcpHello(port));
    assert.deepEqual(seen, ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('skips an endpoint that refuses and one that does not answer in time', async () => {
    const [a] = await endpoints(1);
    // Nothing listens on 127.0.0.9; 192.0.2.1 (TEST-NET) is never answered here.
    const refusing = { ip: '127.0.0.9', port: a!.port };
    const { port } = await openRelay(portPlan([refusing, a!]), options());
    for (let i = 0; i < 4; i++) assert.equal(await tcpHello(port), 'a');
  });

  it('ClientIP affinity: one client sticks to one endpoint until the timeout, another client is balanced on its own', async () => {
    const eps = await endpoints(3);
    let now = 1_000_000;
    const { relay, port } = await openRelay(portPlan(eps, { affinitySeconds: 10 }), options({ now: () => now }));
    const first = await tcpHello(port, { localAddress: '127.0.0.50' });
    for (let i = 0; i < 5; i++) {
      now += 5000; // each use refreshes the timeout
      assert.equal(await tcpHello(port, { localAddress: '127.0.0.50' }), first);
    }
    const other = await tcpHello(port, { localAddress: '127.0.0.51' });
    assert.notEqual(other, first, 'the second client takes the next endpoint');
    assert.equal(relay.stats().affinities, 2);
    now += 10_001;
    // Round-robin is at c now: a client still pinned would get a.
    assert.equal(await tcpHello(port, { localAddress: '127.0.0.50' }), 'c', 'after the timeout the client is balanced again');
  });

  it('an affine endpoint that refuses is left for the next one', async () => {
    const eps = await endpoints(2);
    const { port } = await openRelay(portPlan(eps, { affinitySeconds: 300 }), options());
    const first = await tcpHello(port);
    const gone = eps.find((e) => e.name === first)!;
    await gone.close();
    const next = await tcpHello(port);
    assert.notEqual(next, first);
    assert.equal(await tcpHello(port), next, 'and the client sticks to its new endpoint');
  });

  it('endpoint updates apply to new connections without dropping established ones', async () => {
    const [a, b, c] = await endpoints(3, 'echo');
    const plan = portPlan([a!, b!]);
    const { relay, port } = await openRelay(plan, options());
    const s1 = await tcpSession(port);
    const s2 = await tcpSession(port);
    assert.deepEqual([s1.server, s2.server], ['a', 'b']);
    // b leaves, c comes: a stays, so does the connection to it; b's connection runs on
    // too (the kernel backends keep TCP conntrack entries of removed endpoints).
    assert.equal(await relay.update(portPlan([a!, c!])), true);
    assert.equal(await s1.echo('still there'), 'still there');
    assert.equal(await s2.echo('me too'), 'me too');
    const fresh = [];
    for (let i = 0; i < 4; i++) fresh.push(await tcpHello(port));
    assert.deepEqual([...new Set(fresh)].sort(), ['a', 'c']);
    assert.equal(await relay.update(portPlan([a!, c!])), false, 'the same plan again changes nothing');
    s1.socket.destroy();
    s2.socket.destroy();
  });

  it('no endpoint: the client is reset', async () => {
    const { port } = await openRelay(portPlan([]), options());
    await assert.rejects(tcpHello(port), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || /closed before/.test(e.message));
  });

  it('back-pressure: a client that does not read holds the sender back; the relay buffers little; then 64 MiB arrive intact', async () => {
    const total = 64 << 20;
    const chunk = Buffer.alloc(64 << 10);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    let written = 0;
    /** The sender is parked on a full socket, waiting for 'drain'. */
    let parked = false;
    const sent = createHash('sha256');
    const server = net.createServer((s) => {
      s.on('error', () => {});
      const pump = () => {
        parked = false;
        while (written < total) {
          written += chunk.length;
          sent.update(chunk);
          if (!s.write(chunk)) {
            parked = true;
            return void s.once('drain', pump);
          }
        }
        s.end();
      };
      pump();
    });
    await new Promise<void>((r) => server.listen({ host: '127.0.0.20', port: 0 }, r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const { relay, port } = await openRelay(portPlan([{ ip: '127.0.0.20', port: (server.address() as net.AddressInfo).port }]), options());

    const client = net.connect({ host: '127.0.0.1', port });
    client.pause();
    await new Promise((r) => client.once('connect', r));
    // Stopped: parked on a full socket and no further byte written over 300 ms (the chain of
    // buffers, client socket, relay, server socket, fills first; on a loaded machine that
    // takes a while, so sample until it holds). A sender that never stops fails the wait.
    let stalled = -1;
    const deadline = Date.now() + 30_000;
    while (!(parked && written === stalled)) {
      assert.ok(Date.now() < deadline, `the sender is stopped while nobody reads (still writing: ${written} bytes)`);
      stalled = written;
      await sleep(300);
    }
    assert.ok(written < total / 2, `the sender could not push everything into buffers (${written} bytes)`);
    const held = relay.stats().bufferedBytes;
    assert.ok(held <= 256 << 10, `the relay holds ${held} bytes in user space`);

    const received = createHash('sha256');
    let got = 0;
    client.on('data', (d: Buffer) => {
      got += d.length;
      received.update(d);
    });
    client.resume();
    await new Promise((r) => client.once('end', r));
    assert.equal(got, total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    client.destroy();
    await eventually('the connection to be released', () => relay.stats().tcpConnections === 0);
  });

  it('a client that vanishes mid-transfer frees its connection and the endpoint side', async () => {
    const [a] = await endpoints(1, 'echo');
    const { relay, port } = await openRelay(portPlan([a!]), options());
    const s = await tcpSession(port);
    assert.equal(await s.echo('x'.repeat(1000)), 'x'.repeat(1000));
    assert.equal(a!.open.size, 1);
    s.socket.resetAndDestroy();
    await eventually('the relay to drop the connection', () => relay.stats().tcpConnections === 0);
    await eventually('the endpoint side to close', () => a!.open.size === 0);
  });

  it('an endpoint that vanishes mid-transfer resets the client and frees the connection', async () => {
    const [a] = await endpoints(1, 'echo');
    const { relay, port } = await openRelay(portPlan([a!]), options());
    const s = await tcpSession(port);
    const closed = new Promise<void>((r) => s.socket.once('close', () => r()));
    s.socket.on('error', () => {});
    for (const sock of a!.open) sock.resetAndDestroy();
    await closed;
    await eventually('the relay to drop the connection', () => relay.stats().tcpConnections === 0);
  });

  it('half-close: the client finishes sending and still gets the whole answer', async () => {
    const [a] = await endpoints(1, 'echo');
    const { port } = await openRelay(portPlan([a!]), options());
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.end('question\n');
    await new Promise((r) => s.once('close', r));
    assert.equal(data, 'a\nquestion\n');
  });
});

describe('userspace relay: UDP', TIMEOUT, () => {
  const udpPlan = (eps: { ip: string; port: number }[], extra = {}) =>
    portPlan(eps, { key: 'default/dns:53/UDP/UDP/IPv4', protocol: 'UDP', label: 'default/dns:53/UDP', ...extra });

  async function udpEndpoints(n: number) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const e = await udpEndpoint(String.fromCharCode(97 + i), `127.0.0.${2 + i}`);
      closers.push(() => e.close());
      out.push(e);
    }
    return out;
  }

  it('one session per client: its datagrams go to one endpoint, clients are spread round-robin', async () => {
    const eps = await udpEndpoints(2);
    const { relay, port } = await openRelay(udpPlan(eps), options());
    const c1 = await udpClient();
    const c2 = await udpClient();
    closers.push(async () => void (c1.close(), c2.close()));
    const r1 = await udpAsk(c1, port, 'q1');
    const r2 = await udpAsk(c2, port, 'q2');
    assert.deepEqual([r1, r2], ['a q1', 'b q2']);
    for (let i = 0; i < 3; i++) assert.equal(await udpAsk(c1, port, `again${i}`), `a again${i}`);
    assert.equal(relay.stats().udpSessions, 2);
  });

  it('an idle session ends after the timeout; the next datagram opens a new one', async () => {
    const eps = await udpEndpoints(2);
    // A pause of a tenth of the idle timeout: a wide margin on a loaded machine.
    const { relay, port } = await openRelay(udpPlan(eps), options({ udp: { idleMs: 1000, maxSessions: 100 } }));
    const c = await udpClient();
    closers.push(async () => void c.close());
    assert.equal(await udpAsk(c, port, 'x'), 'a x');
    await sleep(100);
    assert.equal(await udpAsk(c, port, 'y'), 'a y', 'activity keeps the session');
    assert.equal(relay.stats().udpSessions, 1);
    await eventually('the idle session to end', () => relay.stats().udpSessions === 0, 20_000);
    assert.equal(await udpAsk(c, port, 'z'), 'b z', 'a new session, balanced again');
  });

  it('an endpoint that answers "port unreachable" is skipped and the datagram goes to the next', async () => {
    const [a] = await udpEndpoints(1);
    const { port } = await openRelay(udpPlan([{ ip: '127.0.0.9', port: a!.port }, a!]), options());
    const c = await udpClient();
    closers.push(async () => void c.close());
    // The first datagram reaches 127.0.0.9, whose ICMP error moves the session on.
    assert.equal(await udpAsk(c, port, 'hello', 2000), 'a hello');
  });

  it('a removed endpoint ends its sessions; the client continues on a remaining endpoint', async () => {
    const [a, b] = await udpEndpoints(2);
    const { relay, port } = await openRelay(udpPlan([a!, b!]), options());
    const c = await udpClient();
    closers.push(async () => void c.close());
    assert.equal(await udpAsk(c, port, '1'), 'a 1');
    await relay.update(udpPlan([b!]));
    assert.equal(relay.stats().udpSessions, 0);
    assert.equal(await udpAsk(c, port, '2'), 'b 2');
  });
});
