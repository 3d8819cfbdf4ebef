// Property 2: every valid scenario is accepted (strict, and lenient with no
// errors), every backend renders it, the same bytes twice, and the kernel tools
// accept what was rendered: `nft -c -j -f` for nftables, `iptables-restore --test`
// and `ip6tables-restore --test` for iptables, and for IPVS its ipset and iptables
// sections (ipvsadm itself needs an IPVS kernel: test/vm). Thousands of cases run
// in-process; the tools check a smaller sample, each in a throw-away namespace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { documentSection } from '../../src/backends/iptables/document.js';
import { registeredBackends } from '../../src/backends/registry.js';
import { ipvsToolCheck } from '../helpers/ipvs-check.js';
import { nftCheck } from '../helpers/nft-check.js';
import { withNetns } from '../backends/iptables/netns.js';
import { scenarioOf, validWorld } from './arbitraries/valid.js';
import { collect, renderAll } from './pipeline.js';
import { fuzzParams } from './runs.js';

describe('fuzz: valid inputs render on every backend', () => {
  it('are accepted strictly and leniently, and every backend renders them deterministically', () => {
    assert.deepEqual(registeredBackends().map((b) => b.name).sort(), ['iptables', 'ipvs', 'nftables']);
    fc.assert(
      fc.property(validWorld, (w) => {
        const s = scenarioOf(w);
        const first = renderAll(s);
        assert.deepEqual(renderAll(s), first, 'render must be a pure function of its input');
        const lenient = collect(s, false, 'nftables');
        assert.deepEqual(lenient.errors, []);
        assert.deepEqual(lenient.skippedServices, []);
        assert.equal(lenient.plan.services.length, w.services.length);
      }),
      fuzzParams(600),
    );
  });

  it('a sample of them passes nft -c, iptables-restore --test, ip6tables-restore --test and the IPVS set and rule checks', async () => {
    await withNetns(async (ns) => {
      await fc.assert(
        fc.asyncProperty(validWorld, async (w) => {
          const docs = renderAll(scenarioOf(w));
          const nft = await nftCheck(docs.get('nftables')!);
          assert.ok(nft.ok, `nft -c refused the document: ${nft.stderr}`);
          for (const f of ['IPv4', 'IPv6'] as const) await ns.run.restore(f, documentSection(docs.get('iptables')!, f), true);
          assert.deepEqual(await ipvsToolCheck(docs.get('ipvs')!), []);
        }),
        fuzzParams(20),
      );
    });
  });
});
