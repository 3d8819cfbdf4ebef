// Incremental syncs as cacheless nft text (src/backends/nftables/text-transaction.ts) with
// deferred deletes (pending-deletes.ts): what the text says and what it refuses; then,
// against the real kernel in a throw-away namespace, that a syncer sending text leaves
// the kernel as a full render wants it (but for the deferred elements, until a resync).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { nftRunner, sessionRunner } from '../../../src/backends/nftables/apply.js';
import { diffTables, matchLive } from '../../../src/backends/nftables/diff.js';
import type { NftSet } from '../../../src/backends/nftables/nft.js';
import { MAX_PENDING, PendingDeletes } from '../../../src/backends/nftables/pending-deletes.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { NftablesSyncer } from '../../../src/backends/nftables/syncer.js';
import { cachelessText } from '../../../src/backends/nftables/text-transaction.js';
import { parts, type NftCommand } from '../../../src/backends/nftables/transaction.js';
import { NftSession } from '../../../src/exec/session.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const SETS: Record<string, NftSet> = {
  'pod-cidrs': { name: 'pod-cidrs', kind: 'set', type: 'ipv4_addr', flags: ['interval'], elements: [] },
  'endpoint-traffic': { name: 'endpoint-traffic', kind: 'set', type: ['ipv4_addr', 'inet_proto', 'inet_service', 'ipv4_addr', 'inet_service'], counter: true, elements: [] },
  'service-ips': { name: 'service-ips', kind: 'map', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', counter: true, elements: [] },
};
const decl = (_f: string, _t: string, name: string) => SETS[name];
const CHAIN = 'svc-default/a/tcp/80';
const flushChain: NftCommand = { flush: { chain: { family: 'ip', table: 'svcplane-03', name: CHAIN } } };
const rule = (expr: Record<string, unknown>[], comment?: string): NftCommand => ({ add: { rule: { family: 'ip', table: 'svcplane-03', chain: CHAIN, expr, ...(comment ? { comment } : {}) } } });
const elements = (verb: 'add' | 'delete', name: string, elem: unknown[], table = 'svcplane'): NftCommand =>
  ({ [verb]: { element: { family: 'ip', table, name, elem } } }) as unknown as NftCommand;
const trafficKey = (ep: string) => ({ concat: ['10.96.0.1', 'tcp', 80, ep, 8080] });

describe('cachelessText', () => {
  it('writes rules as one add chain with a body, after the sets they name, and elements as add set with the declaration', () => {
    const text = cachelessText(
      [
        flushChain,
        rule([{ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@pod-cidrs' } }, { jump: { target: 'mark-for-masquerade' } }], 'not from a pod'),
        rule([{ match: { op: '==', left: { numgen: { mode: 'random', mod: 2, offset: 0 } }, right: 0 } }, { counter: { packets: 0, bytes: 0 } }, { dnat: { addr: '10.244.1.5', port: 8080 } }]),
        elements('add', 'endpoint-traffic', [{ elem: { val: trafficKey('10.244.1.5'), comment: 'default/a:80/TCP' } }]),
        elements('add', 'service-ips', [[{ concat: ['10.96.0.1', 'tcp', 80] }, { goto: { target: CHAIN } }]], 'svcplane-03'),
      ],
      decl,
    );
    assert.equal(
      text,
      `flush chain ip svcplane-03 ${CHAIN}; ` +
        'add set ip svcplane-03 pod-cidrs { type ipv4_addr; flags interval; }; ' +
        `add chain ip svcplane-03 ${CHAIN} { ip saddr != @pod-cidrs jump mark-for-masquerade comment "not from a pod"; numgen random mod 2 0 counter dnat to 10.244.1.5:8080; }; ` +
        'add set ip svcplane endpoint-traffic { type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service; counter; elements = { 10.96.0.1 . tcp . 80 . 10.244.1.5 . 8080 comment "default/a:80/TCP" }; }; ' +
        `add map ip svcplane-03 service-ips { type ipv4_addr . inet_proto . inet_service : verdict; counter; elements = { 10.96.0.1 . tcp . 80 : goto ${CHAIN} }; }\n`,
    );
  });

  it('refuses what would need nft\'s chain cache or what it does not know: the caller sends JSON', () => {
    const refused: NftCommand[][] = [
      [elements('delete', 'endpoint-traffic', [trafficKey('10.244.1.5')])],
      [{ add: { chain: { family: 'ip', table: 'svcplane', name: 'nat-x', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } } }],
      [elements('add', 'pod-cidrs', ['10.244.0.0/16'])],
      [rule([{ queue: { num: 1 } }])],
      [rule([{ jump: { target: 'counter' } }])],
      [rule([{ counter: { packets: 1, bytes: 2 } }])],
      [rule([{ match: { op: '==', left: { meta: { key: 'mark' } }, right: 1 } }], 'a "quoted" comment')],
      [elements('add', 'no-such-set', ['10.0.0.1'])],
    ];
    for (const cmds of refused) assert.equal(cachelessText(cmds, decl), undefined, JSON.stringify(cmds));
  });
});

describe('PendingDeletes', () => {
  const isDelete = (c: NftCommand) => parts(c).verb === 'delete';

  it('holds back deletes of counter and hairpin elements, one command per element, and sends the rest', () => {
    const p = new PendingDeletes();
    const split = p.split([flushChain, elements('delete', 'endpoint-traffic', [trafficKey('10.244.1.5'), trafficKey('10.244.1.6')]), elements('delete', 'hairpin', [{ concat: ['10.244.1.5', '10.244.1.5'] }])]);
    assert.ok(split);
    assert.deepEqual(split.now, [flushChain]);
    assert.equal(split.later.length, 3);
    p.add(split.later);
    assert.equal(p.size, 3);
    const taken = p.take();
    assert.equal(taken.length, 3);
    assert.ok(taken.every(isDelete));
    assert.equal(p.size, 0);
  });

  it('does not split a delete of anything else, an element added back while its delete waits, or past MAX_PENDING', () => {
    const p = new PendingDeletes();
    assert.deepEqual(p.split([elements('delete', 'service-ips', [[{ concat: ['10.96.0.1', 'tcp', 80] }, { goto: { target: CHAIN } }]], 'svcplane-03')])?.later, []);
    p.add(p.split([elements('delete', 'endpoint-traffic', [trafficKey('10.244.1.5')])])!.later);
    // Added back (with its comment): the element is still in the kernel, its delete must not follow.
    assert.equal(p.split([elements('add', 'endpoint-traffic', [{ elem: { val: trafficKey('10.244.1.5'), comment: 'default/a:80/TCP' } }])]), undefined);
    assert.ok(p.split([elements('add', 'endpoint-traffic', [trafficKey('10.244.1.6')])]));
    const many = Array.from({ length: MAX_PENDING }, (_, i) => trafficKey(`10.244.${i >> 8}.${i & 255}`));
    assert.equal(p.split([elements('delete', 'endpoint-traffic', many)]), undefined);
  });
});

const NS = `svp-text-${process.pid}`;
const SERVICES = ['a', 'b', 'c'];

/** Services of a few shapes (NodePort with Local policy, UDP, affinity), `n[i]` endpoints each. */
function world(n: readonly number[]): RenderInput {
  const eps = (i: number, k: number) => Array.from({ length: k }, (_, j) => ep(`10.244.${i + 1}.${10 + j}`, j % 2 ? 'node2' : 'node1'));
  return input(
    [
      svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] }),
      svc({ name: 'b', clusterIPs: ['10.96.0.2'], type: 'NodePort', externalTrafficPolicy: 'Local', ports: [port(53, 5353, { protocol: 'UDP', nodePort: 30053 })] }),
      svc({ name: 'c', clusterIPs: ['10.96.0.3'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 }, ports: [port(443, 8443)] }),
    ],
    [
      slice('a', eps(0, n[0]!), [{ port: 8080 }]),
      slice('b', eps(1, n[1]!), [{ port: 5353, protocol: 'UDP' }]),
      slice('c', eps(2, n[2]!), [{ port: 8443 }]),
    ],
  );
}

describe('a syncer sending cacheless text (real nft, throw-away namespace)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  const base = nftRunner(NS);
  const session = new NftSession({ netns: NS });
  const sent = { text: 0, json: 0 };
  const runner = sessionRunner(base, session, sent);
  const syncer = new NftablesSyncer(runner, undefined, { cachelessText: true });
  before(async () => {
    await execa('ip', ['netns', 'add', NS]);
  });
  after(async () => {
    session.close();
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });

  /** What the kernel lacks or has beyond a full render, as commands. */
  const differences = async (inp: RenderInput) => {
    const want = renderTables(inp);
    return diffTables(want, matchLive(want, await base.list())).commands;
  };

  it('leaves the kernel as a full render wants it, but for deferred element deletes, which a resync sends', async () => {
    let n = [3, 2, 2];
    await syncer.sync(world(n));
    const steps: [number, number][] = [[0, 4], [1, 3], [2, 1], [0, 1], [1, 2], [2, 3], [0, 3], [1, 0], [1, 2]];
    for (const [i, k] of steps) {
      n = n.map((x, j) => (j === i ? k : x));
      const r = await syncer.sync(world(n), new Set([`default/${SERVICES[i]}`]));
      assert.equal(r.full, false);
      const diff = await differences(world(n));
      // Only deletes of elements whose delete waits may differ: counter and hairpin elements.
      for (const c of diff) {
        const { verb, object } = parts(c);
        assert.equal(verb, 'delete', JSON.stringify(c));
        assert.ok('element' in object && ['endpoint-traffic', 'nodeport-endpoint-traffic', 'hairpin'].includes(object.element.name), JSON.stringify(c));
      }
    }
    assert.ok(sent.text >= 4, `most changes went as text (${sent.text} text, ${sent.json} JSON)`);
    await syncer.sync(world(n));
    assert.deepEqual(await differences(world(n)), [], 'after a resync the kernel equals a full render');
    assert.equal(session.stats.refused, 0);
  });

  it('sends text one-shot (`nft -j -f -`) when there is no session', async () => {
    let texts = 0;
    const oneShot = new NftablesSyncer({ ...base, load: async (d) => ((texts += d.startsWith('{') ? 0 : 1), base.load(d)) }, undefined, { cachelessText: true });
    let n = [3, 2, 2];
    await oneShot.sync(world(n));
    for (const [i, k] of [[0, 5], [0, 2]] as const) {
      n = n.map((x, j) => (j === i ? k : x));
      assert.equal((await oneShot.sync(world(n), new Set([`default/${SERVICES[i]}`]))).full, false);
    }
    assert.equal(texts, 2);
    await oneShot.sync(world(n));
    assert.deepEqual(await differences(world(n)), []);
  });
});
