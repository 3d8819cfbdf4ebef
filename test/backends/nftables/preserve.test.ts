// preserveServices: a Service whose input was malformed keeps exactly what the
// kernel has for it; every other Service follows the new input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAll, matchLive } from '../../../src/backends/nftables/diff.js';
import { preserveServices } from '../../../src/backends/nftables/preserve.js';
import { keptShards, renderTables, shardTableOf } from '../../../src/backends/nftables/render.js';
import type { NftTable } from '../../../src/backends/nftables/nft.js';

function preserved(next: NftTable[], keys: string[]): NftTable[] {
  const twins = matchLive(next, old);
  return next.map((t, i) => preserveServices(t, twins[i], keys));
}
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const services = [
  svc({ name: 'keep', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } }),
  svc({ name: 'move', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)] }),
];
const old = renderTables(input(services, [slice('keep', [ep('10.244.1.1', 'node1')], [{ port: 8080 }]), slice('move', [ep('10.244.1.2', 'node1')], [{ port: 8080 }])]));

describe('nftables preserveServices', () => {
  it('keeps the live chains, sets and elements of a skipped Service, and changes the others', () => {
    // New input: "keep"'s slice was malformed (so it has no endpoints here), "move" moved.
    const next = renderTables(input(services, [slice('move', [ep('10.244.1.3', 'node1')], [{ port: 8080 }])]), keptShards(['default/keep'], old));
    const tx = diffAll(preserved(next, ['default/keep']), old);
    const text = JSON.stringify(tx.commands);
    assert.doesNotMatch(text, /default\/keep/, 'nothing of the preserved Service is touched');
    assert.match(text, /10\.244\.1\.3/, 'the other Service follows the new input');
  });

  it('a Service removed from the input but preserved stays in the kernel', () => {
    // Its shard table stays too, even when no other Service lives there.
    const next = renderTables(input([services[1]!], [slice('move', [ep('10.244.1.2', 'node1')], [{ port: 8080 }])]), keptShards(['default/keep'], old));
    assert.deepEqual(diffAll(preserved(next, ['default/keep']), old).commands, []);
  });

  it('without preserved Services the input wins', () => {
    const next = renderTables(input([services[1]!], [slice('move', [ep('10.244.1.2', 'node1')], [{ port: 8080 }])]));
    const text = JSON.stringify(diffAll(preserved(next, []), old).commands);
    // Its chains go, or its whole shard table when no other Service lives there.
    const shardGone = text.includes(JSON.stringify({ delete: { table: { family: 'ip', name: shardTableOf('default', 'keep') } } }));
    assert.ok(shardGone || /"delete":\{"chain":\{[^}]*default\/keep/.test(text), text);
  });
});
