// iptables-nft or iptables-legacy: a node's rules live in one of them, and each sees
// only its own. `auto` follows the rules already there, as kube-proxy's image does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIptables, countRules, flavourFromEnv, IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { features } from '../../helpers/features.js';
import { withNetns } from './netns.js';

describe('iptables flavour', () => {
  it('SVCPLANE_IPTABLES_MODE picks it; auto by default; anything else is refused by name', () => {
    assert.equal(flavourFromEnv({}), 'auto');
    assert.equal(flavourFromEnv({ SVCPLANE_IPTABLES_MODE: 'legacy' }), 'legacy');
    assert.throws(() => flavourFromEnv({ SVCPLANE_IPTABLES_MODE: 'ebtables' }), /SVCPLANE_IPTABLES_MODE="ebtables": must be one of auto, nft, legacy/);
  });

  it('counts rule lines of a save output', () => {
    assert.equal(countRules('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j X\n-A X -j RETURN\nCOMMIT\n'), 2);
  });

  for (const [already, expect] of [['legacy', 'legacy'], ['nft', 'nft']] as const) {
    it(`auto: with a rule already in iptables-${already}, applies there and leaves the other empty`, async () => {
      await withNetns(async (ns) => {
        const pre = await ns.exec([`iptables-${already}`, '-A', 'INPUT', '-s', '192.0.2.99', '-j', 'ACCEPT']);
        assert.equal(pre.exitCode, 0, pre.stderr);
        const r = await applyIptables(features['clusterip-named-targetport']!, {}, { run: new IptablesRunner(ns.name, 'auto'), host: false });
        assert.ok(r.changes > 0);
        const other = expect === 'legacy' ? 'nft' : 'legacy';
        const mine = await ns.exec([`iptables-${expect}-save`, '-t', 'nat']);
        const theirs = await ns.exec([`iptables-${other}-save`, '-t', 'nat']);
        assert.match(mine.stdout, /^-A SVP-SERVICES /m, `our rules in iptables-${expect}`);
        assert.doesNotMatch(theirs.stdout, /SVP-/, `nothing of ours in iptables-${other}`);
        // A second apply through a fresh runner finds them there: nothing to do.
        const again = await applyIptables(features['clusterip-named-targetport']!, {}, { run: new IptablesRunner(ns.name, 'auto'), host: false });
        assert.equal(again.changes, 0);
      });
    });
  }
});
