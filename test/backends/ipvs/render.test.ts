// IPVS render: a golden file per feature (virtual servers, set entries and
// addresses; the static iptables part once, in skeleton.rules), every document's
// ipset and iptables sections accepted by the real tools.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SECTION, splitSections } from '../../../src/backends/ipvs/document.js';
import { ipvsBackend } from '../../../src/backends/ipvs/index.js';
import { renderIpvs } from '../../../src/backends/ipvs/render.js';
import { features } from '../../helpers/features.js';
import { assertGolden } from '../../helpers/golden.js';
import { ipvsToolCheck } from '../../helpers/ipvs-check.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const golden = (name: string) => fileURLToPath(new URL(`./golden/${name}.rules`, import.meta.url));
const skeleton = ipvsBackend.render(input([]));
const skeletonLines = new Set(skeleton.split('\n'));

/** What a feature adds: addresses, set entries, virtual and real servers (section headers kept for context). */
function added(doc: string): string {
  return doc.split('\n').filter((l) => l.startsWith('# == ') || !skeletonLines.has(l)).join('\n') + '\n';
}

describe('ipvs render', () => {
  it('renders the skeleton: empty sets and the static helper rules', async () => {
    assertGolden(golden('skeleton'), skeleton);
    assert.deepEqual(await ipvsToolCheck(skeleton), []);
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`renders ${name}`, async () => {
      const doc = ipvsBackend.render(inp);
      assertGolden(golden(name), added(doc));
      assert.deepEqual(await ipvsToolCheck(doc), [], `tools refused ${name}`);
    });
  }

  it('one virtual server per ClusterIP, LB IP and node address, same real servers per policy', () => {
    const r = renderIpvs(features['external-traffic-policy-local']!);
    const vs = r.families[0]!.virtualServers.map((v) => `${v.address}:${v.port} ${v.realServers.map((x) => x.address).join(',')}`);
    // ClusterIP: every endpoint; LB IP and NodePort (Local policy): this node's only.
    assert.deepEqual(vs, ['10.96.0.50:80 10.244.1.50,10.244.2.50', '192.168.50.1:30050 10.244.1.50', '203.0.113.50:80 10.244.1.50']);
  });

  it('terminating endpoints stay as weight-0 real servers so open connections drain', () => {
    const inp = input(
      [svc({ name: 't', clusterIPs: ['10.96.0.5'], ports: [port(80, 8080)] })],
      [slice('t', [ep('10.244.1.1', 'node1'), ep('10.244.1.2', 'node1', { ready: false, serving: true, terminating: true })], [{ port: 8080 }])],
    );
    const rs = renderIpvs(inp).families[0]!.virtualServers[0]!.realServers;
    assert.deepEqual(rs, [{ address: '10.244.1.1', port: 8080, weight: 1 }, { address: '10.244.1.2', port: 8080, weight: 0 }]);
  });

  it('uses the configured scheduler and ClientIP affinity as persistence', () => {
    const inp = { ...features['session-affinity']!, config: { ...features['session-affinity']!.config, ipvsScheduler: 'wlc' } };
    const ipvs = splitSections(ipvsBackend.render(inp)).get(SECTION.ipvs)!;
    assert.match(ipvs, /^-A -t 10\.96\.0\.40:80 -s wlc -p 600$/m);
  });

  it('IPv6 virtual servers are bracketed', () => {
    const ipvs = splitSections(ipvsBackend.render(features['dual-stack']!)).get(SECTION.ipvs)!;
    assert.match(ipvs, /^-a -t \[fd00:10:96::90\]:80 -r \[fd00:244:1::90\]:8080 -m -w 1$/m);
  });

  // Found by test/fuzz: 1 << 31 is negative in JavaScript, and "0x-80000000" is no mark iptables reads.
  it('masqueradeBit 31 marks with 0x80000000', async () => {
    const doc = ipvsBackend.render(input([svc({ name: 'a', clusterIPs: ['10.96.0.51'], ports: [port(80)] })], [], { config: { masqueradeBit: 31 } }));
    assert.match(doc, /--set-xmark 0x80000000\/0x80000000/);
    assert.doesNotMatch(doc, /0x-/);
    assert.deepEqual(await ipvsToolCheck(doc), []);
  });

  // Found by test/fuzz: ipset refuses a /0 in a hash:ip,port,net set, so the whole restore failed.
  it('a loadBalancerSourceRange of everyone (0.0.0.0/0, ::/0) becomes its two halves, which ipset accepts', async () => {
    const lb = svc({
      name: 'open',
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.50', 'fd00:10:96::50'],
      ports: [port(80, 8080)],
      loadBalancerIngress: [{ ip: '198.51.100.50', ipMode: 'VIP' }, { ip: '2001:db8::50', ipMode: 'VIP' }],
      loadBalancerSourceRanges: ['0.0.0.0/0', '::/0'],
    });
    const doc = ipvsBackend.render(input([lb], [slice('open', [ep('10.244.1.50', 'node1')], [{ port: 8080 }])]));
    const sets = `${splitSections(doc).get(SECTION.ipset4)}${splitSections(doc).get(SECTION.ipset6)}`;
    assert.doesNotMatch(sets, /\/0\b/);
    assert.match(sets, /^add SVP-LOAD-BALANCER-SOURCE-CIDR 198\.51\.100\.50,tcp:80,0\.0\.0\.0\/1 -exist$/m);
    assert.match(sets, /^add SVP-LOAD-BALANCER-SOURCE-CIDR 198\.51\.100\.50,tcp:80,128\.0\.0\.0\/1 -exist$/m);
    assert.match(sets, /,tcp:80,8000::\/1 -exist$/m);
    assert.deepEqual(await ipvsToolCheck(doc), []);
  });
});
