// Deterministic allocation: stable, independent of other Services, in range,
// never a reserved address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Chart } from 'cdk8s';
import { allocateNodePort, allocateServiceIP, isAllocatableServiceIP } from '../../src/constructs/allocation.js';
import { allocateForService } from '../../src/constructs/service-allocation.js';
import { resolveAllocationConfig } from '../../src/constructs/allocation-config.js';
import {
  ClusterIPService,
  IpFamilyPolicy,
  LoadBalancerService,
  NodePortService,
  Protocol,
  SvcplaneApp,
  TrafficPolicy,
} from '../../src/constructs/index.js';
import { cidrContains, parseCIDR, parseIP } from '../../src/model/ip.js';
import { appAndChart, manifests, serviceNamed } from './helpers.js';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);

test('a ClusterIP is the same on every run and lies inside the CIDR, never on a reserved address', () => {
  fc.assert(
    fc.property(name, name, fc.constantFrom('10.96.0.0/12', '10.0.0.0/29', '192.168.7.0/30', 'fd00:10:96::/112', 'fd00::/125'), (ns, n, cidr) => {
      const ip = allocateServiceIP(cidr, `${ns}/${n}`)!;
      assert.equal(allocateServiceIP(cidr, `${ns}/${n}`), ip);
      const c = parseCIDR(cidr)!;
      const a = parseIP(ip)!;
      assert.ok(cidrContains(c, a), `${ip} in ${cidr}`);
      assert.notEqual(a.value, c.network, 'network address');
      assert.notEqual(a.value, c.network + 1n, 'first address (kubernetes Service)');
      if (c.family === 'IPv4') assert.notEqual(a.value, c.network + (1n << BigInt(32 - c.prefix)) - 1n, 'broadcast');
      assert.ok(isAllocatableServiceIP(cidr, ip));
    }),
  );
});

test('the one usable address of a /30 is the only answer; /31 and /32 have none', () => {
  // 192.168.7.0/30: .0 network, .1 kubernetes, .3 broadcast: only .2 is left.
  for (const key of ['a/b', 'c/d', 'e/f']) assert.equal(allocateServiceIP('192.168.7.0/30', key), '192.168.7.2');
  assert.equal(allocateServiceIP('192.168.7.0/31', 'a/b'), undefined);
  assert.equal(allocateServiceIP('192.168.7.1/32', 'a/b'), undefined);
  assert.equal(isAllocatableServiceIP('192.168.7.0/30', '192.168.7.1'), false);
  assert.equal(isAllocatableServiceIP('192.168.7.0/30', '192.168.7.3'), false);
  // IPv6 has no broadcast: the last address may be used.
  assert.equal(isAllocatableServiceIP('fd00::/126', 'fd00::3'), true);
});

test('the hash spreads Services over the CIDR (not all on one address)', () => {
  const ips = new Set(Array.from({ length: 200 }, (_, i) => allocateServiceIP('10.96.0.0/12', `default/svc-${i}`)));
  assert.ok(ips.size >= 199, `${ips.size} distinct of 200`);
});

test('a NodePort is stable, in range, and skips the ports the Service already holds', () => {
  fc.assert(
    fc.property(name, fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 0, max: 50 }), (key, min, width) => {
      const range = { min, max: min + width };
      const p = allocateNodePort(range, key)!;
      assert.equal(allocateNodePort(range, key), p);
      assert.ok(p >= range.min && p <= range.max);
      const q = allocateNodePort(range, key, new Set([p]));
      if (width === 0) assert.equal(q, undefined);
      else assert.ok(q !== undefined && q !== p && q >= range.min && q <= range.max);
    }),
  );
});

test('allocateForService: dual-stack families, shared NodePorts across protocols, healthCheckNodePort apart', () => {
  const config = resolveAllocationConfig({});
  const r = allocateForService(
    {
      namespace: 'kube-system',
      name: 'dns',
      needsClusterIP: true,
      clusterIPs: [],
      ipFamilyPolicy: 'PreferDualStack',
      ports: [{ port: 53 }, { port: 53 }, { port: 9153 }],
      needsNodePorts: true,
      needsHealthCheckNodePort: true,
    },
    config,
  );
  assert.deepEqual(r.issues, []);
  assert.equal(r.clusterIPs.length, 2);
  assert.ok(cidrContains(parseCIDR('10.96.0.0/12')!, parseIP(r.clusterIPs[0]!)!));
  assert.ok(cidrContains(parseCIDR('fd00:10:96::/112')!, parseIP(r.clusterIPs[1]!)!));
  assert.equal(r.nodePorts[0], r.nodePorts[1], 'TCP and UDP 53 share one NodePort, as the API server does');
  assert.notEqual(r.nodePorts[0], r.nodePorts[2]);
  assert.ok(r.healthCheckNodePort !== undefined && !r.nodePorts.includes(r.healthCheckNodePort));
});

test('RequireDualStack on a single-stack app cannot be allocated', () => {
  const config = resolveAllocationConfig({ serviceCIDRs: ['10.43.0.0/16'] });
  const base = { namespace: 'a', name: 'b', needsClusterIP: true, clusterIPs: [], ports: [], needsNodePorts: false, needsHealthCheckNodePort: false };
  assert.equal(allocateForService({ ...base, ipFamilyPolicy: 'PreferDualStack' }, config).clusterIPs.length, 1);
  const r = allocateForService({ ...base, ipFamilyPolicy: 'RequireDualStack' }, config);
  assert.match(r.issues[0]!.message, /no IPv6 service CIDR/);
});

function webAndDb(withOthers: boolean): { ip: string; nodePort: number } {
  const { app, chart } = appAndChart();
  if (withOthers) {
    for (let i = 0; i < 20; i++) new NodePortService(chart, `other-${i}`, { metadata: { name: `other-${i}` }, ports: [{ port: 80 }], selector: { i: String(i) } });
  }
  new NodePortService(chart, 'web', { metadata: { name: 'web' }, ports: [{ port: 80 }], selector: { app: 'web' } });
  const web = serviceNamed(manifests(app, chart), 'web');
  return { ip: web.spec!.clusterIP, nodePort: web.spec!.ports[0].nodePort };
}

test("a Service's allocation does not depend on which other Services exist, nor on declaration order", () => {
  const alone = webAndDb(false);
  const crowded = webAndDb(true);
  assert.deepEqual(crowded, alone);

  const a = appAndChart();
  new ClusterIPService(a.chart, 'x', { metadata: { name: 'x' }, ports: [{ port: 1 }] });
  new ClusterIPService(a.chart, 'y', { metadata: { name: 'y' }, ports: [{ port: 1 }] });
  const b = appAndChart();
  new ClusterIPService(b.chart, 'y', { metadata: { name: 'y' }, ports: [{ port: 1 }] });
  new ClusterIPService(b.chart, 'x', { metadata: { name: 'x' }, ports: [{ port: 1 }] });
  const ipsA = manifests(a.app, a.chart).map((m) => [m.metadata.name, m.spec!.clusterIP]).sort();
  const ipsB = manifests(b.app, b.chart).map((m) => [m.metadata.name, m.spec!.clusterIP]).sort();
  assert.deepEqual(ipsA, ipsB);
});

test('allocation keys on namespace/name: the same name in another namespace gets another address', () => {
  const ipIn = (ns: string): string => {
    const { app, chart } = appAndChart({}, ns);
    new ClusterIPService(chart, 'svc', { metadata: { name: 'svc' }, ports: [{ port: 80 }] });
    return serviceNamed(manifests(app, chart), 'svc').spec!.clusterIP;
  };
  assert.equal(ipIn('team-a'), ipIn('team-a'));
  assert.notEqual(ipIn('team-a'), ipIn('team-b'));
});

test("allocated values are written into the manifest and follow the app's ranges", () => {
  const { app, chart } = appAndChart({ serviceCIDRs: ['fd00:abcd::/108', '172.20.0.0/16'], nodePortRange: { min: 40000, max: 40099 } });
  const lb = new LoadBalancerService(chart, 'lb', {
    metadata: { name: 'lb' },
    selector: { app: 'lb' },
    ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: Protocol.UDP }],
    externalTrafficPolicy: TrafficPolicy.LOCAL,
    ipFamilyPolicy: IpFamilyPolicy.PREFER_DUAL_STACK,
  });
  const m = serviceNamed(manifests(app, chart), 'lb');
  // The first CIDR's family (IPv6 here) is primary.
  assert.ok(cidrContains(parseCIDR('fd00:abcd::/108')!, parseIP(m.spec!.clusterIP)!));
  assert.ok(cidrContains(parseCIDR('172.20.0.0/16')!, parseIP(m.spec!.clusterIPs[1])!));
  assert.deepEqual(m.spec!.clusterIPs, [...lb.clusterIPs]);
  const ports = [...m.spec!.ports.map((p: { nodePort: number }) => p.nodePort), m.spec!.healthCheckNodePort];
  for (const p of ports) assert.ok(p >= 40000 && p <= 40099, `${p} in range`);
  assert.equal(new Set(ports).size, 3);
  assert.ok(lb.allocatedFields.has('spec.healthCheckNodePort'));
  assert.ok(lb.allocatedFields.has('spec.ports[1].nodePort'));
});

test('given values are kept as given and not counted as allocated', () => {
  const { app, chart } = appAndChart();
  const np = new NodePortService(chart, 'np', {
    metadata: { name: 'np' },
    clusterIP: '10.100.0.5',
    selector: { a: 'b' },
    ports: [{ port: 80, nodePort: 31000 }],
  });
  const m = serviceNamed(manifests(app, chart), 'np');
  assert.equal(m.spec!.clusterIP, '10.100.0.5');
  assert.deepEqual(m.spec!.clusterIPs, ['10.100.0.5']);
  assert.equal(m.spec!.ports[0].nodePort, 31000);
  assert.equal(np.allocatedFields.size, 0);
});

test('no NodePorts for a LoadBalancer with allocateLoadBalancerNodePorts false', () => {
  const { app, chart } = appAndChart();
  new LoadBalancerService(chart, 'lb', { metadata: { name: 'lb' }, selector: { a: 'b' }, ports: [{ port: 80 }], allocateLoadBalancerNodePorts: false });
  const m = serviceNamed(manifests(app, chart), 'lb');
  assert.equal(m.spec!.ports[0].nodePort, undefined);
  assert.equal(m.spec!.allocateLoadBalancerNodePorts, false);
});

test('outside SvcplaneApp (plain cdk8s App) the Kubernetes defaults apply', async () => {
  const { Testing } = await import('cdk8s');
  const app = Testing.app();
  const chart = new Chart(app, 'c');
  const s = new ClusterIPService(chart, 's', { metadata: { name: 's' }, ports: [{ port: 80 }] });
  assert.ok(cidrContains(parseCIDR('10.96.0.0/12')!, parseIP(s.clusterIP!)!));
  assert.ok(!(app instanceof SvcplaneApp));
});

test('pinned values: a change of the hash scheme would move every deployed Service, so it must be deliberate', () => {
  // Across processes and machines the same inputs give these values (sha256, no randomness).
  assert.equal(allocateServiceIP('10.96.0.0/12', 'default/mysql-service'), '10.103.201.176');
  assert.equal(allocateServiceIP('fd00:10:96::/112', 'shop/api'), 'fd00:10:96::78e1');
  assert.equal(allocateNodePort({ min: 30000, max: 32767 }, 'shop/storefront#port:443'), 30827);
  assert.equal(allocateNodePort({ min: 30000, max: 32767 }, 'shop/storefront#healthCheckNodePort'), 30388);
});
