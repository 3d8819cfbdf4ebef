// The userspace proxy as the agent drives it (the RulesSyncer): RenderInput in,
// relays and the redirect document out; nft missing or refused; preserved Services;
// a removed Service keeps its established connections.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { RenderFailed } from '../../src/backends/syncer.js';
import { userspaceRulesSyncer } from '../../src/userspace/syncer.js';
import { NftUnavailable, type RedirectRunner } from '../../src/userspace/redirect-apply.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';
import { tcpEndpoint, tcpHello, tcpSession, type TcpEndpoint } from './loopback.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

class FakeNft implements RedirectRunner {
  docs: string[] = [];
  fail: Error | undefined;
  async load(doc: string): Promise<void> {
    if (this.fail) throw this.fail;
    this.docs.push(doc);
  }
}

class Log {
  lines: { level: string; msg: string; obj: object }[] = [];
  info(obj: object, msg: string) {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: 'warn', msg, obj });
  }
  warnings = () => this.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
}

const web = svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] });
const other = svc({ name: 'other', clusterIPs: ['10.96.0.11'], ports: [port(80, 8080)] });
const req = (full: boolean, preserve: string[] = []) => ({ full, changed: new Set<string>(), preserve });
const eps: TcpEndpoint[] = [];
const syncers: { close?: () => Promise<void> }[] = [];

after(async () => {
  for (const s of syncers) await s.close?.();
  for (const e of eps) await e.close();
});

async function setup(nft: FakeNft | null = new FakeNft()) {
  const log = new Log();
  const syncer = userspaceRulesSyncer({ log, redirect: nft });
  syncers.push(syncer);
  if (eps.length === 0) for (const [n, ip] of [['a', '127.0.0.2'], ['b', '127.0.0.3']] as const) eps.push(await tcpEndpoint(n, ip, 'echo', 18080));
  const slices = (names: string[]) => [
    slice('web', eps.filter((e) => names.includes(e.name)).map((e) => ep(e.ip, 'node1')), [{ port: 18080 }]),
    slice('other', [ep('127.0.0.2', 'node1')], [{ port: 18080 }]),
  ];
  const portOf = (name: string) => syncer.proxy.relays.bound().get(`default/${name}:80/TCP/TCP/IPv4`)?.internal;
  return { log, syncer, slices, portOf, nft };
}

describe('userspace proxy (agent syncer)', TIMEOUT, () => {
  it('opens a relay per Service port and redirects its ClusterIP to the listener; an unchanged incremental sync sends nothing', async () => {
    const { syncer, slices, portOf, nft } = await setup();
    const r = await syncer.sync(input([web, other], slices(['a', 'b'])), req(true));
    assert.ok(r.changes >= 2);
    const p = portOf('web')!;
    assert.ok(p > 0);
    assert.equal(nft!.docs.length, 1);
    assert.ok(nft!.docs[0]!.includes(JSON.stringify([{ concat: ['10.96.0.10', 'tcp', 80] }, p])), 'ClusterIP -> listener port');
    assert.deepEqual([await tcpHello(p), await tcpHello(p)].sort(), ['a', 'b']);
    assert.equal((await syncer.sync(input([web, other], slices(['a', 'b'])), req(false))).changes, 0);
    assert.equal(nft!.docs.length, 1, 'nothing changed: nft is not called');
    await syncer.sync(input([web, other], slices(['a', 'b'])), req(true));
    assert.equal(nft!.docs.length, 2, 'a full sync rewrites the table (repairs drift)');
  });

  it('without nft: one warning, the relays serve on the node, nft is tried again at full syncs', async () => {
    const nft = new FakeNft();
    nft.fail = new NftUnavailable('nft: Operation not permitted');
    const { log, syncer, slices, portOf } = await setup(nft);
    await syncer.sync(input([web], slices(['a'])), req(true));
    await syncer.sync(input([web], slices(['a', 'b'])), req(false));
    await syncer.sync(input([web], slices(['a', 'b'])), req(true));
    assert.equal(log.warnings().filter((m) => m.startsWith('nftables not usable')).length, 1);
    assert.equal(syncer.proxy.redirecting, false);
    assert.ok(['a', 'b'].includes(await tcpHello(portOf('web')!)), 'clients that connect directly are served');
    nft.fail = undefined;
    await syncer.sync(input([web], slices(['a', 'b'])), req(false));
    assert.equal(nft.docs.length, 0, 'not retried on an incremental sync');
    await syncer.sync(input([web], slices(['a', 'b'])), req(true));
    assert.equal(nft.docs.length, 1);
    assert.equal(syncer.proxy.redirecting, true);
    assert.ok(log.lines.some((l) => l.msg === 'nftables usable again: redirect rules installed'));
  });

  it('another nft error fails the sync (the agent retries); the relays are up regardless', async () => {
    const nft = new FakeNft();
    nft.fail = new Error('nft -j -f - failed: syntax error');
    const { syncer, slices, portOf } = await setup(nft);
    await assert.rejects(syncer.sync(input([web], slices(['a'])), req(true)), /syntax error/);
    assert.equal(await tcpHello(portOf('web')!), 'a');
  });

  it('a preserved Service (malformed input) keeps its relay; a removed one closes its listener but not its connections', async () => {
    const { syncer, slices, portOf } = await setup(null);
    await syncer.sync(input([web, other], slices(['a'])), req(true));
    const webPort = portOf('web')!;
    const otherPort = portOf('other')!;
    const live = await tcpSession(otherPort);
    // web's slice is gone but web is preserved; other is removed.
    await syncer.sync(input([web], []), req(true, ['default/web']));
    assert.equal(portOf('web'), webPort);
    assert.equal(await tcpHello(webPort), 'a', 'the preserved relay still has its endpoints');
    assert.equal(portOf('other'), undefined);
    await assert.rejects(
      new Promise((res, rej) => net.connect({ host: '127.0.0.1', port: otherPort }).on('connect', res).on('error', rej)),
      /ECONNREFUSED/,
    );
    assert.equal(await live.echo('still relayed'), 'still relayed');
    live.socket.destroy();
  });

  it('a render error is a RenderFailed: nothing was opened', async () => {
    const { syncer } = await setup(null);
    const broken = { ...input([web]), plan: undefined } as unknown as Parameters<typeof syncer.sync>[0];
    await assert.rejects(syncer.sync(broken, req(true)), RenderFailed);
    assert.equal(syncer.proxy.relays.plans().length, 0);
  });
});
