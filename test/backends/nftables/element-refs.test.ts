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
