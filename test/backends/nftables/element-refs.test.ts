// The syncer's element counts (element-refs.ts): ids that tell keys apart, counts
// that keep an element while any fragment holds it, and the walk that finds each
// element's first appearance without a set of what it has seen.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ElementRefs, elementId, FirstAppearances, setKey } from '../../../src/backends/nftables/element-refs.js';
import type { Fragment, FragmentElement } from '../../../src/backends/nftables/render.js';

const el = (set: string, key: unknown, comment?: string): FragmentElement => ({ table: 'svcplane', set, element: { key, ...(comment ? { comment } : {}) } });
const fragment = (...elements: FragmentElement[]): Fragment => ({ table: 'svcplane-00', chains: [], sets: [], elements });

describe('elementId', () => {
  it('is one id per key, whatever the value or comment, and different keys differ', () => {
    const keys: unknown[] = ['10.96.0.1', { concat: ['10.96.0.1', 'tcp', 80] }, { concat: ['10.96.0.1', 'tcp', 8080] }, { concat: ['10.96.0.1', 'udp', 80] }, { prefix: { addr: '10.0.0.0', len: 8 } }, { concat: ['a b', 'c'] }, { concat: ['a', 'b c'] }];
    const ids = keys.map((key) => elementId({ key }));
    assert.equal(new Set(ids).size, keys.length, ids.join(' | '));
    assert.equal(elementId({ key: '10.96.0.1', comment: 'x' }), elementId({ key: '10.96.0.1', value: { goto: { target: 'y' } } }));
  });
});

describe('elementId as a number', () => {
  it('packs the keys that fit 53 bits into numbers, others stay strings', () => {
    for (const key of ['10.96.0.1', { concat: ['10.96.0.1', 'tcp', 80] }, { concat: ['tcp', 30080] }, { concat: ['10.244.0.1', '10.244.0.1'] }]) {
      assert.equal(typeof elementId({ key }), 'number', JSON.stringify(key));
    }
    // The per-endpoint counted sets' keys (98 and 66 bits): short strings, not their text.
    for (const key of [{ concat: ['10.96.0.1', 'tcp', 80, '10.244.0.1', 8080] }, { concat: ['udp', 30080, '10.244.0.1', 53] }]) {
      const id = elementId({ key });
      assert.ok(typeof id === 'string' && id.length <= 15, JSON.stringify(key));
    }
    assert.equal(typeof elementId({ key: { concat: ['10.96.0.1', 'toString', 80, '10.244.0.1', 8080] } }), 'string');
    assert.ok(String(elementId({ key: { concat: ['10.96.0.1', 'toString', 80, '10.244.0.1', 8080] } })).includes('toString'));
    // Not canonical dotted IPv4 (a leading zero, an octet past 255), IPv6, another protocol, two different addresses.
    for (const key of ['010.96.0.1', '10.96.0.256', 'fd00::1', { concat: ['10.96.0.1', 'icmp', 80] }, { concat: ['10.244.0.1', '10.244.0.2'] }, { concat: ['fd00::1', 'tcp', 80] }]) {
      assert.equal(typeof elementId({ key }), 'string', JSON.stringify(key));
    }
  });

  it('two keys have the same id exactly when they are the same key (random keys of every shape)', () => {
    let seed = 11;
    // The generator's high bits (its low ones repeat with a short period).
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
    // Few values each, so that keys of different shapes share their parts often.
    const octet = () => [0, 1, 255, 10][rand(4)]!;
    const ip = () => (rand(8) === 0 ? `fd00::${rand(3)}` : `${octet()}.${octet()}.${octet()}.${octet()}`);
    const proto = () => ['tcp', 'udp', 'sctp', 'icmp'][rand(4)]!;
    const port = () => [0, 1, 65535, 80][rand(4)]!;
    const key = (): unknown => {
      switch (rand(6)) {
        case 0:
          return ip();
        case 1:
          return { concat: [ip(), proto(), port()] };
        case 2:
          return { concat: [proto(), port()] };
        case 3: {
          const a = ip();
          return { concat: [a, rand(2) ? a : ip()] };
        }
        case 4:
          return rand(2) ? { concat: [ip(), proto(), port(), ip()] } : { concat: [ip(), proto(), port(), ip(), port()] };
        default:
          return { concat: [proto(), port(), ip(), port()] };
      }
    };
    const byId = new Map<string | number, string>();
    for (let i = 0; i < 20000; i++) {
      const k = key();
      const id = elementId({ key: k });
      const text = JSON.stringify(k);
      const seen = byId.get(id);
      if (seen !== undefined) assert.equal(seen, text, `id ${id}`);
      else byId.set(id, text);
    }
    const texts = new Set(byId.values());
    assert.equal(texts.size, byId.size, 'one id per key');
    assert.ok([...byId.keys()].some((id) => typeof id === 'number') && [...byId.keys()].some((id) => typeof id === 'string'));
  });
});

describe('ElementRefs and FirstAppearances', () => {
  const a = el('hairpin', { concat: ['10.244.0.1', '10.244.0.1'] });
  const b = el('hairpin', { concat: ['10.244.0.2', '10.244.0.2'] });
  const ip = el('cluster-ips', '10.96.0.1', 'default/a');

  it('counts an element per fragment holding it, and drops it at 0', () => {
    const refs = new ElementRefs();
    refs.add(fragment(a, ip));
    refs.add(fragment(a, b));
    const k = setKey('svcplane', 'hairpin');
    assert.equal(refs.count(k, elementId(a.element)), 2);
    refs.remove(fragment(a, ip));
    assert.equal(refs.count(k, elementId(a.element)), 1);
    assert.equal(refs.count(setKey('svcplane', 'cluster-ips'), elementId(ip.element)), 0);
    assert.equal(refs.has(setKey('svcplane', 'cluster-ips')), false);
    refs.remove(fragment(a, b));
    assert.equal(refs.has(k), false);
  });

  it('counts and orders ids as a map of counts would, through random adds and removes', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
    const pool = Array.from({ length: 6 }, (_, i) => el(i % 2 ? 'hairpin' : 'cluster-ips', i % 2 ? { concat: [`10.244.0.${i}`, `10.244.0.${i}`] } : `10.96.0.${i}`));
    const keys = [setKey('svcplane', 'hairpin'), setKey('svcplane', 'cluster-ips')];
    const refs = new ElementRefs();
    // The model: insertion order of a Map kept by count, an id dropped at 0.
    const model = new Map(keys.map((k) => [k, new Map<string | number, number>()]));
    const held: Fragment[] = [];
    for (let step = 0; step < 3000; step++) {
      if (held.length && rand(2)) {
        const fr = held.splice(rand(held.length), 1)[0]!;
        refs.remove(fr);
        for (const e of fr.elements) {
          const m = model.get(setKey(e.table, e.set))!;
          const id = elementId(e.element);
          const n = m.get(id)!;
          if (n === 1) m.delete(id);
          else m.set(id, n - 1);
        }
      } else {
        const fr = fragment(...Array.from({ length: 1 + rand(3) }, () => pool[rand(pool.length)]!));
        held.push(fr);
        refs.add(fr);
        for (const e of fr.elements) {
          const m = model.get(setKey(e.table, e.set))!;
          const id = elementId(e.element);
          m.set(id, (m.get(id) ?? 0) + 1);
        }
      }
      for (const k of keys) {
        const m = model.get(k)!;
        assert.deepEqual([...refs.ids(k)], [...m.keys()], `step ${step}`);
        for (const e of pool) assert.equal(refs.count(k, elementId(e.element)), m.get(elementId(e.element)) ?? 0);
        assert.equal(refs.has(k), m.size > 0);
      }
    }
  });

  it('walking the fragments in the order they were counted picks each element once, at its first appearance', () => {
    const frs = [fragment(a, ip), fragment(b, a), fragment(a, b)];
    const refs = new ElementRefs();
    for (const fr of frs) refs.add(fr);
    const picker = new FirstAppearances(refs, setKey('svcplane', 'hairpin'));
    const picked = frs.flatMap((fr) => fr.elements.filter((e) => picker.take(e)));
    assert.deepEqual(picked, [a, b]);
    picker.done();
  });

  it('a walk that misses an element throws rather than write a set without it', () => {
    const refs = new ElementRefs();
    refs.add(fragment(a, b));
    const picker = new FirstAppearances(refs, setKey('svcplane', 'hairpin'));
    picker.take(a);
    assert.throws(() => picker.done(), /not found in the fragments/);
  });
});
