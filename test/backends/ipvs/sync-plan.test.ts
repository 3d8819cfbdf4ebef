// One IPVS sync as data: a node whose refusing sets predate their counters gets them
// rebuilt once, and the syncer's memory (advanceState) then holds what the kernel
// holds: the next sync sends nothing for them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpsetSave } from '../../../src/backends/ipvs/diff.js';
import { createLine } from '../../../src/backends/ipset.js';
import { helperChains } from '../../../src/backends/ipvs/iptables-rules.js';
import type { IpvsKernelState } from '../../../src/backends/ipvs/kernel.js';
import { renderIpvs } from '../../../src/backends/ipvs/render.js';
import { advanceState, planIpvsSync } from '../../../src/backends/ipvs/sync-plan.js';
import { features } from '../../helpers/features.js';

describe('ipvs sync plan: sets without counters', () => {
  it('rebuilds each such set once, before the adds; the state advanced from it needs nothing more', () => {
    const inp = features['no-endpoints-reject']!;
    const r = renderIpvs(inp);
    // The kernel as an older svcplane left it: the same sets and entries, none with counters.
    const saved = r.families
      .flatMap((f) => f.ipsets)
      .flatMap((s) => [createLine({ ...s, counters: false }).replace(' -exist', ''), ...s.entries.map((e) => `add ${s.name} ${e}`)])
      .join('\n');
    const state: IpvsKernelState = {
      dummyExists: true,
      dummy: new Set(r.interfaceAddresses),
      virtualServers: new Map(),
      ipsets: parseIpsetSave(saved),
      chains: { IPv4: helperChains(r.families[0]!.iptables), IPv6: helperChains(r.families[1]!.iptables) },
    };
    const first = planIpvsSync(inp, state, []);
    const swapped = first.setAdds.filter((l) => l.startsWith('swap ')).map((l) => l.split(' ')[2]);
    assert.deepEqual(swapped.sort(), r.families.flatMap((f) => f.ipsets.filter((s) => s.counters).map((s) => s.name)).sort());
    assert.ok(first.setAdds.every((l) => !l.startsWith('add SVP-NO-ENDPOINTS ')), 'the entries are already there');
    advanceState(state, first);
    assert.ok(![...state.ipsets.keys()].some((n) => n.endsWith('-C')), 'the copies are gone from memory');
    assert.match(state.ipsets.get('SVP-NO-ENDPOINTS')!.header, /\bcounters\b/);
    assert.deepEqual([...state.ipsets.get('SVP-NO-ENDPOINTS')!.entries].sort(), [...r.families[0]!.ipsets.find((s) => s.name === 'SVP-NO-ENDPOINTS')!.entries].sort());
    const again = planIpvsSync(inp, state, []);
    assert.deepEqual([again.setAdds, again.setDels], [[], []]);
  });
});
