// The userspace proxy's pure parts: the listener plan (which endpoints each kind of
// traffic reaches, from the shared Service port views) and the redirect table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenerPlan, type PortPlan } from '../../src/userspace/plan.js';
import { redirectDocument, redirectTableCommands, type BoundPorts } from '../../src/userspace/redirect-rules.js';
import { features } from '../helpers/features.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';
import { nftCheck } from '../helpers/nft-check.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const byKey = (ports: readonly PortPlan[]) => new Map(ports.map((p) => [p.key, p]));
const ips = (eps: readonly { ip: string; port: number }[]) => eps.map((e) => `${e.ip}:${e.port}`);

describe('userspace listener plan', TIMEOUT, () => {
  it('one entry per Service port, protocol and family, with endpoints resolved per slice', () => {
    const s = svc({ name: 'ds', clusterIPs: ['10.96.0.80', 'fd00:10:96::80'], ports: [port(80, 8080, { name: 'http' }), port(53, 53, { name: 'dns', protocol: 'UDP' })] });
    const plan = listenerPlan(
      input([s], [
        slice('ds', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }]),
        slice('ds', [ep('fd00:244:1::10', 'node1')], [{ name: 'http', port: 8080 }], { addressType: 'IPv6' }),
      ]),
    );
    assert.deepEqual(plan.ports.map((p) => p.key), ['default/ds:dns/UDP/IPv4', 'default/ds:dns/UDP/IPv6', 'default/ds:http/TCP/IPv4', 'default/ds:http/TCP/IPv6']);
    const m = byKey(plan.ports);
    assert.deepEqual(ips(m.get('default/ds:http/TCP/IPv4')!.internal.endpoints), ['10.244.1.10:8080', '10.244.2.10:8080']);
    assert.deepEqual(ips(m.get('default/ds:dns/UDP/IPv4')!.internal.endpoints), ['10.244.1.10:5353', '10.244.2.10:5353']);
    assert.deepEqual(ips(m.get('default/ds:http/TCP/IPv6')!.internal.endpoints), ['fd00:244:1::10:8080']);
    // No IPv6 slice for dns: nothing to relay to, and nothing anywhere: reject.
    assert.deepEqual(m.get('default/ds:dns/UDP/IPv6')!.internal, { endpoints: [], none: 'reject' });
  });

  it('traffic policies: Local internal and external traffic see only this node; none here: drop, not reject', () => {
    const s = svc({
      name: 'pol',
      type: 'NodePort',
      clusterIPs: ['10.96.0.60'],
      internalTrafficPolicy: 'Local',
      externalTrafficPolicy: 'Local',
      ports: [port(80, 8080, { nodePort: 30060 })],
    });
    const here = listenerPlan(input([s], [slice('pol', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ port: 8080 }])])).ports[0]!;
    assert.deepEqual(ips(here.internal.endpoints), ['10.244.1.10:8080']);
    assert.deepEqual(ips(here.external.endpoints), ['10.244.1.10:8080']);
    // Pods of this node going to the node port are short-circuited to every endpoint.
    assert.deepEqual(here.shortCircuit.sources, ['10.244.0.0/16']);
    assert.deepEqual(ips(here.shortCircuit.endpoints), ['10.244.1.10:8080', '10.244.2.10:8080']);
    const away = listenerPlan(input([s], [slice('pol', [ep('10.244.2.10', 'node2')], [{ port: 8080 }])])).ports[0]!;
    assert.deepEqual(away.internal, { endpoints: [], none: 'drop' });
    assert.deepEqual(away.external, { endpoints: [], none: 'drop' });
  });

  it('terminating endpoints that still serve are used only when none is ready', () => {
    const s = svc({ name: 't', clusterIPs: ['10.96.0.70'], ports: [port(80, 8080)] });
    const p = listenerPlan(
      input([s], [slice('t', [ep('10.244.1.10', 'node1', { ready: false, serving: true, terminating: true }), ep('10.244.1.11', 'node1', { ready: false, serving: false, terminating: true })], [{ port: 8080 }])]),
    ).ports[0]!;
    assert.deepEqual(ips(p.internal.endpoints), ['10.244.1.10:8080']);
  });

  it('node port addresses: every address when unset (kube-proxy userspace), the selected ones otherwise', () => {
    const s = svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.20'], ports: [port(80, 8080, { nodePort: 30080 })] });
    assert.deepEqual(listenerPlan(input([s])).ports[0]!.nodePortAddresses, { all: true, ips: [] });
    assert.deepEqual(listenerPlan(input([s], [], { config: { nodePortAddresses: ['192.168.0.0/16'] } })).ports[0]!.nodePortAddresses, { all: false, ips: ['192.168.50.1'] });
  });

  it('affinity, external and load-balancer addresses, source ranges; SCTP is named as unsupported', () => {
    const lb = svc({
      name: 'lb',
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.30'],
      externalIPs: ['192.0.2.30'],
      loadBalancerIngress: [{ ip: '203.0.113.30', ipMode: 'VIP' }, { ip: '203.0.113.31', ipMode: 'Proxy' }],
      loadBalancerSourceRanges: ['198.51.100.0/24'],
      sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 },
      ports: [port(443, 8443, { nodePort: 30443 }), port(9, 9, { name: 'sctp', protocol: 'SCTP' })],
    });
    const plan = listenerPlan(input([lb]));
    assert.deepEqual(plan.unsupported, ['default/lb']);
    const p = plan.ports.find((x) => x.protocol === 'TCP')!;
    assert.equal(p.affinitySeconds, 600);
    assert.deepEqual(p.externalAddresses, ['192.0.2.30', '203.0.113.30']);
    assert.deepEqual(p.firewalledAddresses, ['203.0.113.30']);
    assert.deepEqual(p.sourceRanges, ['198.51.100.0/24']);
  });

  it('source ranges that hold the node also let the LB IPs through as sources (kube-proxy allowFromNode)', () => {
    const lb = svc({
      name: 'lb',
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.30'],
      loadBalancerIngress: [{ ip: '203.0.113.30', ipMode: 'VIP' }],
      loadBalancerSourceRanges: ['192.168.0.0/16'],
      ports: [port(443, 8443, { nodePort: 30443 })],
    });
    const p = listenerPlan(input([lb])).ports[0]!;
    assert.deepEqual(p.sourceRanges, ['192.168.0.0/16', '203.0.113.30']);
  });
});

describe('userspace redirect table', TIMEOUT, () => {
  const s = svc({
    name: 'web',
    type: 'LoadBalancer',
    clusterIPs: ['10.96.0.10'],
    externalIPs: ['192.0.2.10'],
    loadBalancerIngress: [{ ip: '203.0.113.10', ipMode: 'VIP' }],
    loadBalancerSourceRanges: ['192.168.50.0/24'],
    ports: [port(80, 8080, { nodePort: 30080 })],
  });
  const empty = svc({ name: 'empty', type: 'NodePort', clusterIPs: ['10.96.0.12'], ports: [port(80, 8080, { nodePort: 30012 })] });
  const plan = listenerPlan(input([s, empty], [slice('web', [ep('10.244.1.10', 'node1')], [{ port: 8080 }])], { config: { nodePortAddresses: ['192.168.0.0/16'] } }));
  const bound = new Map<string, BoundPorts>();
  for (const p of plan.ports) if (p.service === 'default/web') bound.set(p.key, { internal: 41000, external: 41001 });

  const elements = (name: string) =>
    redirectTableCommands('IPv4', plan.ports, bound)
      .flatMap((c) => ('element' in c && c.element.name === name ? c.element.elem : []));

  it('ClusterIP goes to the internal listener, external and LB addresses to the external one', () => {
    assert.deepEqual(elements('ports'), [
      [{ concat: ['10.96.0.10', 'tcp', 80] }, 41000],
      [{ concat: ['192.0.2.10', 'tcp', 80] }, 41001],
      [{ concat: ['203.0.113.10', 'tcp', 80] }, 41001],
    ]);
    // The range holds the node (192.168.50.1), so the LB IP is an allowed source too (allowFromNode).
    assert.deepEqual(elements('firewall-allow'), [
      { concat: ['203.0.113.10', 'tcp', 80, { prefix: { addr: '192.168.50.0', len: 24 } }] },
      { concat: ['203.0.113.10', 'tcp', 80, '203.0.113.10'] },
    ]);
  });

  it('a Service without endpoints is rejected on its ClusterIP and its node port addresses', () => {
    assert.deepEqual(elements('reject'), [{ concat: ['10.96.0.12', 'tcp', 80] }, { concat: ['192.168.50.1', 'tcp', 30012] }]);
  });

  it('a listener that is not open gets no redirect (its traffic is not captured)', () => {
    const none = redirectTableCommands('IPv4', plan.ports, new Map());
    assert.ok(!none.some((c) => 'element' in c && c.element.name === 'ports'));
  });

  it('is pure, and replaces the table in one transaction', () => {
    const doc = redirectDocument(plan.ports, bound);
    assert.equal(redirectDocument(plan.ports, bound), doc);
    const cmds = (JSON.parse(doc) as { nftables: Record<string, unknown>[] }).nftables;
    assert.deepEqual(cmds.slice(0, 3), [
      { table: { family: 'ip', name: 'svcplane-userspace' } },
      { delete: { table: { family: 'ip', name: 'svcplane-userspace' } } },
      { table: { family: 'ip', name: 'svcplane-userspace' } },
    ]);
  });

  it('nft accepts the document of every feature input (nft -c in a throw-away namespace)', async () => {
    for (const [name, inp] of Object.entries(features)) {
      const ports = listenerPlan(inp).ports;
      const b = new Map(ports.map((p, i) => [p.key, { internal: 40000 + 2 * i, external: 40001 + 2 * i }]));
      const r = await nftCheck(redirectDocument(ports, b));
      assert.ok(r.ok, `${name}: ${r.stderr}`);
    }
  });
});
