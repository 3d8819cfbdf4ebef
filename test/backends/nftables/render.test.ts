// nftables render: one golden file per feature (only the lines the feature adds to
// the empty skeleton, so each file is small), semantic assertions beside it, and
// every rendered document checked by `nft -c -j -f`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nftablesBackend } from '../../../src/backends/nftables/index.js';
import { assertGolden } from '../../helpers/golden.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { nftCheck } from '../../helpers/nft-check.js';

const golden = (name: string) => fileURLToPath(new URL(`./golden/${name}.json`, import.meta.url));
const skeleton = nftablesBackend.render(input([]));
const skeletonLines = new Set(skeleton.split('\n'));

/** The lines a feature adds to the skeleton. */
function added(doc: string): string {
  return doc.split('\n').filter((l) => !skeletonLines.has(l)).map((l) => l.replace(/,$/, '')).join('\n') + '\n';
}

import { features, webSlices } from '../../helpers/features.js';

describe('nftables render', () => {
  it('renders the skeleton for no Services', async () => {
    assertGolden(golden('skeleton'), skeleton);
    assert.equal((await nftCheck(skeleton)).stderr, '');
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`renders ${name}`, async () => {
      const doc = nftablesBackend.render(inp);
      assertGolden(golden(name), added(doc));
      const check = await nftCheck(doc);
      assert.ok(check.ok, `nft -c refused ${name}: ${check.stderr}`);
    });
  }

  it('is deterministic and independent of input order', () => {
    const a = nftablesBackend.render(features['clusterip-named-targetport']!);
    const b = nftablesBackend.render({ ...features['clusterip-named-targetport']!, endpointSlices: [...webSlices].reverse() });
    assert.equal(a, b);
  });

  it('resolves a named targetPort per endpoint from its slice', () => {
    const doc = added(nftablesBackend.render(features['clusterip-named-targetport']!));
    assert.match(doc, /"dnat":\{"addr":"10\.244\.1\.10","port":8080\}/);
    assert.match(doc, /"dnat":\{"addr":"10\.244\.2\.10","port":9090\}/);
  });

  it('gives headless, ExternalName and other proxies\' Services no rules', () => {
    const others = input([
      svc({ name: 'headless', clusterIPs: [], headless: true, ports: [port(80)] }),
      svc({ name: 'extname', type: 'ExternalName', clusterIPs: [], externalName: 'db.example.com', ports: [] }),
      svc({ name: 'theirs', clusterIPs: ['10.96.0.120'], ports: [port(80)], proxyName: 'other-proxy' }),
      svc({ name: 'unlabelled', clusterIPs: ['10.96.0.121'], ports: [port(80)], proxyName: undefined }),
    ]);
    assert.equal(nftablesBackend.render(others), skeleton);
    // kube-proxy replacement mode takes the unlabelled one, never the other proxy's.
    const replaced = added(nftablesBackend.render({ ...others, mode: 'replace' }));
    assert.match(replaced, /10\.96\.0\.121/);
    assert.doesNotMatch(replaced, /10\.96\.0\.120/);
  });

  it('spreads evenly: endpoint i of n is chosen with numgen mod (n-i)', () => {
    const eps = ['10.244.1.10', '10.244.1.11', '10.244.1.12'].map((a) => ep(a, 'node1'));
    const doc = added(nftablesBackend.render(input([svc({ name: 'three', clusterIPs: ['10.96.0.3'], ports: [port(80)] })], [slice('three', eps, [{ port: 80 }])])));
    const mods = [...doc.matchAll(/"mod":(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(mods, [3, 2]);
  });

  // Found by test/fuzz: 1 << 31 is negative in JavaScript; nft took it, but lists the mark back as 2147483648.
  it('masqueradeBit 31 marks with 2147483648, never a negative number', () => {
    const doc = nftablesBackend.render(input([svc({ name: 'a', clusterIPs: ['10.96.0.51'], ports: [port(80)] })], [], { config: { masqueradeBit: 31 } }));
    assert.match(doc, /\{"\|":\[\{"meta":\{"key":"mark"\}\},2147483648\]\}/);
    assert.doesNotMatch(doc, /-2147483648/);
  });

  // Found by test/fuzz: overlapping intervals in the allow set made nft refuse the whole document ("File exists").
  it('source ranges that hold each other or the LB IP become non-overlapping allow entries that nft accepts', async () => {
    const lb = (name: string, ip: string, ranges: string[]) =>
      svc({ name, type: 'LoadBalancer', clusterIPs: [`10.96.0.${ip}`], ports: [port(80, 8080)], loadBalancerIngress: [{ ip: `198.51.100.${ip}`, ipMode: 'VIP' }], loadBalancerSourceRanges: ranges });
    const services = [lb('everyone', '61', ['0.0.0.0/0']), lb('nested', '62', ['10.0.0.0/8', '10.1.0.0/16', '192.168.50.1/32', '192.168.0.0/16'])];
    const doc = nftablesBackend.render(input(services, services.map((s) => slice(s.name, [ep('10.244.1.60', 'node1')], [{ port: 8080 }]))));
    // Only firewall-allow's elements (endpoint-traffic's keys start with the LB IP . proto . port too).
    const allowDoc = doc.split('\n').filter((l) => l.includes('"name":"firewall-allow"')).join('\n');
    const allow = (ip: string) => [...allowDoc.matchAll(new RegExp(`"198\\.51\\.100\\.${ip}","tcp",80,(\\{"prefix":\\{"addr":"[^"]+","len":\\d+\\}\\}|"[^"]+")`, 'g'))].map((m) => m[1]);
    assert.deepEqual(allow('61'), ['{"prefix":{"addr":"0.0.0.0","len":0}}']);
    // 192.168.50.1/32 holds the node: the LB IP joins as a source (outside every range here, so it stays).
    assert.deepEqual(allow('62'), ['{"prefix":{"addr":"10.0.0.0","len":8}}', '{"prefix":{"addr":"192.168.0.0","len":16}}', '"198.51.100.62"']);
    const check = await nftCheck(doc);
    assert.ok(check.ok, check.stderr);
  });
});

describe('nftables serialisation', () => {
  it('the fast writer gives the same bytes as the object writer', async () => {
    const { serializeTables, tableObjects } = await import('../../../src/backends/nftables/document.js');
    const { transactionText } = await import('../../../src/backends/nftables/transaction.js');
    const { renderTables } = await import('../../../src/backends/nftables/render.js');
    for (const inp of Object.values(features)) {
      const t = renderTables(inp);
      assert.equal(serializeTables(t), transactionText(tableObjects(t)));
    }
  });
});
