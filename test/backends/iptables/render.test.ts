// iptables render: one golden file per feature (only the lines the feature adds to
// the empty skeleton), semantic assertions beside it, every rendered section checked
// by `iptables-restore --test`, and every rendered chain loaded into a throw-away
// namespace and read back with iptables-save byte for byte (apply's diff relies on it).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { documentSection, familyText, parseSavedChains } from '../../../src/backends/iptables/document.js';
import { iptablesBackend } from '../../../src/backends/iptables/index.js';
import { MAX_CHAIN_NAME } from '../../../src/backends/iptables/names.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { probability, safeComment } from '../../../src/backends/iptables/rule.js';
import type { IPFamily } from '../../../src/model/ip.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { assertGolden } from '../../helpers/golden.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { features, webSlices } from '../../helpers/features.js';
import { withNetns } from './netns.js';

const golden = (name: string) => fileURLToPath(new URL(`./golden/${name}.rules`, import.meta.url));
const skeleton = iptablesBackend.render(input([]));
const skeletonLines = new Set(skeleton.split('\n'));

/** The lines a feature adds to the skeleton. */
function added(doc: string): string {
  return doc.split('\n').filter((l) => !skeletonLines.has(l)).join('\n') + '\n';
}

const SAVE: Record<IPFamily, string> = { IPv4: 'iptables-save', IPv6: 'ip6tables-save' };

/** `*-restore --test` on both sections, in a throw-away namespace. */
async function restoreTest(doc: string): Promise<void> {
  await withNetns(async (ns) => {
    for (const f of ['IPv4', 'IPv6'] as const) {
      await ns.run.restore(f, documentSection(doc, f), true);
    }
  });
}

/** Loads the render into a namespace and reads our chains back: they must be identical. */
async function roundTrip(inp: RenderInput): Promise<void> {
  await withNetns(async (ns) => {
    for (const t of renderIptables(inp)) {
      await ns.run.restore(t.family, familyText(t));
      const saved = (await ns.exec([SAVE[t.family]])).stdout;
      for (const table of ['filter', 'nat'] as const) {
        const live = parseSavedChains(saved, table);
        assert.deepEqual(
          Object.fromEntries(live),
          Object.fromEntries(t[table].map((c) => [c.name, c.rules])),
          `${t.family} ${table}: iptables-save differs from the render`,
        );
      }
    }
  });
}

describe('iptables render', () => {
  it('renders the skeleton for no Services', async () => {
    assertGolden(golden('skeleton'), skeleton);
    await restoreTest(skeleton);
    await roundTrip(input([]));
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`renders ${name} (restore --test, and identical after a kernel round trip)`, async () => {
      const doc = iptablesBackend.render(inp);
      assertGolden(golden(name), added(doc));
      await restoreTest(doc);
      await roundTrip(inp);
    });
  }

  it('is deterministic and independent of input order', () => {
    const a = iptablesBackend.render(features['clusterip-named-targetport']!);
    const b = iptablesBackend.render({ ...features['clusterip-named-targetport']!, endpointSlices: [...webSlices].reverse() });
    assert.equal(a, b);
  });

  it('keeps chain names within 28 characters and never uses KUBE-', () => {
    for (const inp of Object.values(features)) {
      for (const t of renderIptables(inp)) {
        for (const c of [...t.filter, ...t.nat]) {
          assert.ok(c.name.length <= MAX_CHAIN_NAME, c.name);
          assert.match(c.name, /^SVP-[A-Z0-9-]+$/);
        }
      }
    }
    assert.doesNotMatch(iptablesBackend.render(features['session-affinity']!), /KUBE-/);
  });

  it('resolves a named targetPort per endpoint from its slice', () => {
    const doc = added(iptablesBackend.render(features['clusterip-named-targetport']!));
    assert.match(doc, /--to-destination 10\.244\.1\.10:8080$/m);
    assert.match(doc, /--to-destination 10\.244\.2\.10:9090$/m);
  });

  it("gives headless, ExternalName and other proxies' Services no rules", () => {
    const others = input([
      svc({ name: 'headless', clusterIPs: [], headless: true, ports: [port(80)] }),
      svc({ name: 'extname', type: 'ExternalName', clusterIPs: [], externalName: 'db.example.com', ports: [] }),
      svc({ name: 'theirs', clusterIPs: ['10.96.0.120'], ports: [port(80)], proxyName: 'other-proxy' }),
      svc({ name: 'unlabelled', clusterIPs: ['10.96.0.121'], ports: [port(80)], proxyName: undefined }),
    ]);
    assert.equal(iptablesBackend.render(others), skeleton);
    const replaced = added(iptablesBackend.render({ ...others, mode: 'replace' }));
    assert.match(replaced, /10\.96\.0\.121/);
    assert.doesNotMatch(replaced, /10\.96\.0\.120/);
  });

  it('spreads evenly: endpoint i of n is chosen with probability 1/(n-i)', () => {
    const eps = ['10.244.1.10', '10.244.1.11', '10.244.1.12', '10.244.1.13'].map((a) => ep(a, 'node1'));
    const doc = added(iptablesBackend.render(input([svc({ name: 'four', clusterIPs: ['10.96.0.4'], ports: [port(80)] })], [slice('four', eps, [{ port: 80 }])])));
    const probs = [...doc.matchAll(/--probability (\S+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(probs.map((p) => Math.round(1 / p)), [4, 3, 2]);
    // The last endpoint takes whatever is left, unconditionally.
    const jumps = doc.split('\n').filter((l) => /^-A SVP-SVC-/.test(l) && /-j SVP-SEP-/.test(l));
    assert.equal(jumps.length, 4);
    assert.doesNotMatch(jumps[3]!, /statistic/);
    assert.equal(probability(3), '0.33333333349');
    assert.equal(probability(2), '0.50000000000');
    // 1/4096 is stored exactly (2^19 / 2^31): its 12th decimal is a tie, which printf rounds to even.
    assert.equal(probability(4096), '0.00024414062');
  });

  it('a Service of 4097 endpoints reads back as rendered (the 1/4096 tie included)', async () => {
    const eps = Array.from({ length: 4097 }, (_, i) => ep(`10.244.${i >> 8}.${i & 255}`, 'node1'));
    await roundTrip(input([svc({ name: 'wide', clusterIPs: ['10.96.0.40'], ports: [port(80)] })], [slice('wide', eps, [{ port: 80 }])]));
  });

  it('no endpoints: REJECT in filter for the ClusterIP, external IP and NodePort, and no nat rules', () => {
    const doc = added(iptablesBackend.render(features['no-endpoints-reject']!));
    assert.match(doc, /^-A SVP-SERVICES -d 10\.96\.0\.12\/32 .*has no endpoints.*-j REJECT/m);
    assert.match(doc, /^-A SVP-EXTERNAL-SERVICES -d 192\.0\.2\.12\/32 .*-j REJECT/m);
    assert.match(doc, /^-A SVP-EXTERNAL-SERVICES .*--dst-type LOCAL -m tcp --dport 30012 -j REJECT/m);
    assert.doesNotMatch(doc, /SVP-SVC-|SVP-SEP-/);
  });

  it('loadBalancerSourceRanges: no implicit node allowance; the VIP passes as a source only when a range holds the node', () => {
    const lb = features['loadbalancer-source-ranges']!; // ranges 198.51.100.0/24 and 192.168.50.0/24, node 192.168.50.1
    const outside = { ...lb, plan: { ...lb.plan, services: lb.plan.services.map((x) => ({ ...x, loadBalancerSourceRanges: ['198.51.100.0/24'] })) } };
    const out = added(iptablesBackend.render(outside));
    assert.match(out, /^-A SVP-FW-\S+ -s 198\.51\.100\.0\/24 .*-j SVP-EXT-/m);
    assert.doesNotMatch(out, /^-A SVP-FW-\S+ -s (192\.168\.50\.1|203\.0\.113\.3\d)\/32 /m);
    const inside = added(iptablesBackend.render(lb));
    assert.match(inside, /^-A SVP-FW-\S+ -s 203\.0\.113\.30\/32 -m comment --comment "default\/lb:443\/TCP loadbalancer IP" -j SVP-EXT-/m);
    // A Proxy-mode ingress IP is no VIP of ours: neither a destination nor an allowed source.
    assert.doesNotMatch(inside, /203\.0\.113\.31/);
    assert.doesNotMatch(inside, /-s 192\.168\.50\.1\/32/);
  });

  it('externalTrafficPolicy Local with no local endpoint: DROP external traffic, pods and the node short-circuit', () => {
    const doc = added(iptablesBackend.render(features['external-traffic-policy-local-none-here']!));
    assert.match(doc, /^-A SVP-EXTERNAL-SERVICES .*--dport 30051 -j DROP/m);
    assert.match(doc, /^-A SVP-EXTERNAL-SERVICES -d 192\.0\.2\.51\/32 .*-j DROP/m);
    assert.match(doc, /^-A SVP-EXT-\S+ -s 10\.244\.0\.0\/16 .*-j SVP-SVC-/m);
    assert.match(doc, /^-A SVP-EXT-\S+ .*--src-type LOCAL -j SVP-MARK-MASQ/m);
    assert.doesNotMatch(doc, /SVP-SVL-/);
  });

  it('localhost NodePorts: IPv4 only, with the localnet guard; IPv6 excludes ::1', () => {
    const doc = iptablesBackend.render(features['nodeport-all-addresses-localhost']!);
    const v4 = documentSection(doc, 'IPv4');
    const v6 = documentSection(doc, 'IPv6');
    assert.match(v4, /^-A SVP-SERVICES -m comment .* -m addrtype --dst-type LOCAL -j SVP-NODEPORTS$/m);
    assert.match(v4, /block incoming localnet connections/);
    assert.match(v6, /^-A SVP-SERVICES ! -d ::1\/128 .*--dst-type LOCAL -j SVP-NODEPORTS$/m);
    assert.doesNotMatch(v6, /localnet/);
    const off = documentSection(iptablesBackend.render(features['nodeport-all-addresses-no-localhost']!), 'IPv4');
    assert.match(off, /^-A SVP-SERVICES ! -d 127\.0\.0\.0\/8 .*-j SVP-NODEPORTS$/m);
    assert.doesNotMatch(off, /localnet/);
  });

  it('masqueradeBit sets the mark everywhere', () => {
    const doc = iptablesBackend.render(features['masquerade-all']!);
    assert.match(doc, /--set-xmark 0x400\/0x400/);
    assert.doesNotMatch(doc, /0x4000/);
  });
});

describe('iptables render with hostile values', () => {
  const hostile = [
    'a" -j ACCEPT "',
    "x' -j DROP",
    'line\n-A INPUT -j ACCEPT',
    'back\\slash\\"',
    'spaces and\ttabs',
    '#comment',
    'x'.repeat(5000),
    'ünïcødé\u0000nul',
  ];

  it('a comment can never leave its quotes or its line', () => {
    for (const h of hostile) {
      const c = safeComment(h);
      assert.doesNotMatch(c, /["'\\\n\r\t\0#]/);
      assert.ok(c.length <= 240);
    }
  });

  it('Services with hostile names and port names render rules that restore reads as exactly one rule each', async () => {
    const services = hostile.slice(0, 6).map((h, i) =>
      svc({ name: h, namespace: `ns ${h}`, clusterIPs: [`10.96.1.${i + 1}`], ports: [port(80, 8080, { name: h })] }),
    );
    const slices = services.map((s) => slice(s.name, [ep(`10.244.1.${s.clusterIPs[0]!.split('.')[3]}`, 'node1')], [{ name: s.name, port: 8080 }], { namespace: s.namespace }));
    const inp = input(services, slices);
    const doc = iptablesBackend.render(inp);
    for (const line of added(doc).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      assert.match(line, /^(\*(filter|nat)|COMMIT|:SVP-[A-Z0-9-]+ - \[0:0\]|-A SVP-[A-Z0-9-]+ .*)$/, `unexpected line: ${line}`);
      // Outside its quoted comment (which holds no quote), a rule has none of the injected words.
      const outside = line.replace(/--comment "[^"]*"/g, '--comment X');
      assert.doesNotMatch(outside, /INPUT|ACCEPT|DROP|"|'/, `injected: ${line}`);
    }
    await restoreTest(doc);
    await roundTrip(inp);
    await withNetns(async (ns) => {
      await ns.run.restore('IPv4', documentSection(doc, 'IPv4'));
      const saved = (await ns.exec(['iptables-save', '-t', 'filter'])).stdout;
      assert.doesNotMatch(saved, /^-A (INPUT|FORWARD|OUTPUT) /m, 'nothing may reach a built-in chain');
    });
    // Each Service port got its ClusterIP rule and nothing else leaked in.
    const natServices = doc.split('\n').filter((l) => l.startsWith('-A SVP-SERVICES -d 10.96.1.'));
    assert.equal(natServices.length, 6);
  });

  it('a non-address where an address must be fails the render instead of writing it', () => {
    const bad = input(
      [svc({ name: 'x', clusterIPs: ['10.96.0.1 -j ACCEPT'], ports: [port(80)] })],
      [],
    );
    assert.throws(() => iptablesBackend.render(bad), /not an IP address/);
  });
});
