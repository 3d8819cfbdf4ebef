// diff: the transaction between two renderings. The live side here is a rendering
// too; test/e2e proves that what the kernel lists back parses to the same tables
// (a second apply sends nothing).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAll } from '../../../src/backends/nftables/diff.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { serializeTables } from '../../../src/backends/nftables/document.js';
import { readNftDocument } from '../../../src/backends/nftables/read.js';
import { transactionText } from '../../../src/backends/nftables/transaction.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

function manyServices(n: number, extraEndpointFor?: number) {
  const services = [];
  const slices = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push(svc({ name, clusterIPs: [`10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`], ports: [port(80, 8080)] }));
    const eps = [ep(`10.244.1.${(i % 200) + 10}`, 'node1'), ep(`10.244.2.${(i % 200) + 10}`, 'node2')];
    if (i === extraEndpointFor) eps.push(ep('10.244.3.10', 'node3'));
    slices.push(slice(name, eps, [{ port: 8080 }]));
  }
  return input(services, slices);
}

describe('nftables diff', () => {
  it('the same input against itself: no commands', () => {
    const t = renderTables(manyServices(50));
    assert.deepEqual(diffAll(t, t).commands, []);
  });

  it('a fresh kernel: everything is added', () => {
    const t = renderTables(manyServices(3));
    const tx = diffAll(t, []);
    assert.ok(tx.commands.every((c) => 'add' in c));
    assert.ok(tx.commands.length > 40);
  });

  it('one endpoint added at 200 Services: a handful of objects, not the table', () => {
    const before = renderTables(manyServices(200));
    const after = renderTables(manyServices(200, 7));
    const tx = diffAll(after, before);
    // The new endpoint chain is created; the Service's chain is rewritten; nothing else.
    assert.ok(tx.changes <= 3, `changes: ${tx.changes}`);
    assert.ok(tx.commands.length <= 8, JSON.stringify(tx.commands, null, 1));
    const text = transactionText(tx.commands);
    assert.match(text, /10\.244\.3\.10/);
    assert.doesNotMatch(text, /svc-default\/svc-8\//, 'other Services are untouched');
  });

  it('the last Service of a shard table removed: the table goes; the first one added: the table comes', () => {
    const one = renderTables(manyServices(1));
    const none = renderTables(manyServices(0));
    assert.deepEqual(none.map((t) => t.name), ['svcplane', 'svcplane'], 'no Service: the main tables only');
    const shard = one.find((t) => t.name !== 'svcplane')!;
    const gone = diffAll(none, one).commands;
    assert.ok(gone.some((c) => JSON.stringify(c) === JSON.stringify({ delete: { table: { family: 'ip', name: shard.name } } })), JSON.stringify(gone));
    const back = diffAll(one, none).commands;
    assert.ok(back.some((c) => JSON.stringify(c) === JSON.stringify({ add: { table: { family: 'ip', name: shard.name } } })), JSON.stringify(back));
  });

  it('a Service removed: its map elements, chains and endpoint chains go, in an order nft accepts', () => {
    // 40 Services over 16 shards: the removed one shares its shard table with others, which stays.
    const before = renderTables(manyServices(40));
    const after = renderTables(manyServices(39));
    const tx = diffAll(after, before);
    const kinds = tx.commands.map((c) => Object.keys(c)[0]! + ':' + Object.keys(Object.values(c)[0] as object)[0]);
    // Elements that refer to a chain are deleted before the chain itself.
    const lastElementDelete = kinds.lastIndexOf('delete:element');
    const firstChainDelete = kinds.indexOf('delete:chain');
    assert.ok(lastElementDelete >= 0 && firstChainDelete > lastElementDelete, kinds.join(' '));
  });

  it('parses its own serialised document back to the same tables', () => {
    const t = renderTables(manyServices(5));
    const doc = serializeTables(t);
    const parsed = readNftDocument(liveShape(doc));
    assert.equal(parsed.length, t.length);
    assert.deepEqual(diffAll(t, parsed).commands, []);
  });
});

/** Reshapes our document like `nft -j list` does: elements inside their set's "elem". */
function liveShape(doc: string): string {
  const objs = (JSON.parse(doc) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  const sets = new Map<string, Record<string, unknown>>();
  const out: Record<string, unknown>[] = [];
  for (const o of objs) {
    const s = o.set ?? o.map;
    if (s) sets.set(`${s.family}/${s.name}`, s);
    if (o.element) {
      const e = o.element;
      const set = sets.get(`${e.family}/${e.name}`)!;
      set.elem = [...((set.elem as unknown[]) ?? []), ...(e.elem as unknown[])];
      continue;
    }
    out.push(o);
  }
  return JSON.stringify({ nftables: out });
}

describe('nftables diff at scale', () => {
  it('a full load of 150k objects does not overflow the stack (no argument spreads)', () => {
    const t = renderTables(input([]));
    const big = t[0]!.sets.find((x) => x.name === 'cluster-ips')!;
    for (let i = 0; i < 150_000; i++) big.elements.push({ key: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
    const tx = diffAll(t, []);
    assert.ok(tx.commands.length > 150_000, String(tx.commands.length));
  });
});
