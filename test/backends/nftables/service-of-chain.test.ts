// serviceOfChain: the streamed read-back finds a shard's desired Service chain from the
// chain's name alone (streamed-diff.ts, syncer.ts serviceChainLookup), so every chain a
// Service's render adds must name that Service, and no skeleton chain may name one.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTables, serviceOfChain, shardTableOf, skeletonTables, tableContext } from '../../../src/backends/nftables/render.js';
import { features } from '../../helpers/features.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

describe('serviceOfChain', () => {
  for (const [name, inp] of Object.entries(features)) {
    it(`${name}: each Service chain names its Service, in its shard; skeleton chains none`, () => {
      const keys = new Set(inp.plan.services.map((s) => `${s.namespace}/${s.name}`));
      let named = 0;
      for (const t of renderTables(inp)) {
        const skeleton = new Set(skeletonTables(inp, tableContext(inp, t.family === 'ip' ? 'IPv4' : 'IPv6')).flatMap((s) => s.chains.map((c) => `${s.name} ${c.name}`)));
        for (const c of t.chains) {
          const key = serviceOfChain(c.name);
          if (skeleton.has(`${t.name} ${c.name}`) || !c.name.includes('/')) {
            // A skeleton chain (shared ones such as reject-chain too): no Service's.
            assert.equal(key, undefined, `${t.name} ${c.name}`);
            continue;
          }
          assert.ok(key !== undefined && keys.has(key), `${t.name} ${c.name}: ${String(key)}`);
          const [ns, n] = key.split('/') as [string, string];
          assert.equal(shardTableOf(ns, n), t.name, `${c.name} lives in its Service's shard`);
          named++;
        }
      }
      // A Service with no endpoint has no chain of its own (no-endpoints-reject): nothing to name.
      assert.ok(named > 0 || inp.endpointSlices.length === 0);
    });
  }

  it('reads namespaces and names with dashes and dots', () => {
    const inp = input(
      [svc({ namespace: 'kube-system', name: 'kube-dns.v2', clusterIPs: ['10.96.0.10'], ports: [port(53)] })],
      [slice('kube-dns.v2', [ep('10.244.1.5', 'node1')], [{ port: 53 }], { namespace: 'kube-system' })],
    );
    const chains = renderTables(inp).flatMap((t) => t.chains.map((c) => c.name));
    const own = chains.filter((c) => c.includes('kube-dns.v2'));
    assert.ok(own.length > 0);
    for (const c of own) assert.equal(serviceOfChain(c), 'kube-system/kube-dns.v2');
    assert.equal(serviceOfChain('nat-prerouting'), undefined);
    assert.equal(serviceOfChain('svc-ns/only'), undefined);
  });
});
