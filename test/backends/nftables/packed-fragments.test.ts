// How the syncer keeps a Service's fragments (packed-fragments.ts): deflated JSON against
// a dictionary taken from the first fragments packed, which must round-trip whatever
// comes later and pack a typical later Service smaller than deflate alone.

import assert from 'node:assert/strict';
import { constants, deflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { packFragments, unpackFragments } from '../../../src/backends/nftables/packed-fragments.js';
import type { Fragment } from '../../../src/backends/nftables/render.js';

/** A Service's fragment as render.ts makes one: a policy chain with a DNAT per endpoint, its elements. */
function fragmentOf(i: number): Fragment {
  const name = `default/svc-${String(i).padStart(5, '0')}`;
  const vip = `10.96.${i >> 8}.${i & 255}`;
  const chain = `svc-${name}/tcp/80`;
  const endpoints = [1, 2, 3].map((k) => `10.244.${k}.${i & 255}`);
  return {
    table: `svcplane-0${i % 10}`,
    chains: [
      {
        name: chain,
        rules: endpoints.map((ep, k) => ({
          expr: [{ match: { op: '==', left: { numgen: { mode: 'random', mod: 3 - k } }, right: 0 } }, { counter: { packets: 0, bytes: 0 } }, { dnat: { addr: ep, port: 8080 } }],
          comment: `${ep}:8080`,
        })),
      },
    ],
    sets: [],
    elements: [
      { table: 'svcplane', set: 'cluster-ips', element: { key: vip, comment: name } },
      { table: `svcplane-0${i % 10}`, set: 'service-ips', element: { key: { concat: [vip, 'tcp', 80] }, value: { goto: { target: chain } }, comment: `${name}:80/TCP cluster IP` } },
      ...endpoints.map((ep) => ({ table: 'svcplane', set: 'hairpin', element: { key: { concat: [ep, ep] } } })),
    ],
  } as unknown as Fragment;
}

describe('packFragments', () => {
  it('round-trips fragments of any Service, also ones unlike the first (other names, unicode comments, none)', () => {
    const first = [fragmentOf(1)];
    const packedFirst = packFragments(first);
    const odd = [{ ...fragmentOf(77), chains: [], elements: [{ table: 'svcplane', set: 'cluster-ips', element: { key: 'fd00::1', comment: 'ns/ünïcødé ✓' } }] } as unknown as Fragment];
    for (const frs of [first, [fragmentOf(4242), fragmentOf(4243)], odd, []]) assert.deepEqual(unpackFragments(packFragments(frs)), frs);
    assert.deepEqual(unpackFragments(packedFirst), first);
  });

  it('packs a later Service at well under half of what deflate alone makes of it (the dictionary)', () => {
    packFragments([fragmentOf(1)]);
    const later = [fragmentOf(9000)];
    const plain = deflateRawSync(JSON.stringify(later), { level: constants.Z_BEST_SPEED }).length;
    const packed = packFragments(later).length;
    assert.ok(packed * 2 < plain, `packed ${packed} bytes, deflate alone ${plain}`);
  });
});
