// Every rule of the Service validator, and which side refuses it (DESIGN.md, "Two
// kinds of validation"): authoring (constructs, `plan --strict`) refuses every row;
// forwarding (render, apply, check, trace, the agent) either refuses (cannot be
// forwarded safely), accepts silently (the API server's allocation under its own
// configuration), or ignores the field with a warning and drops it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readService, type ServiceObject } from '../../src/model/validate-service.js';
import { svc, type Obj } from './service-manifest.js';

type Forwarding = 'refuse' | 'accept' | 'ignore';

const lb = (more: Obj = {}): Obj => svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }], ...more });
const opts = { nodePortRange: { min: 30000, max: 32767 }, serviceCIDRs: ['10.96.0.0/16'] };

interface Row {
  readonly rule: string;
  readonly obj: Obj;
  readonly field: string;
  readonly forwarding: Forwarding;
  /** For 'ignore': what the forwarded Service holds instead. */
  readonly dropped?: (s: ServiceObject) => boolean;
}

const ROWS: Row[] = [
  // ---- refused on both sides: cannot be forwarded safely, or a hostile string
  { rule: 'kind is Service', obj: svc({}, {}, { kind: 'Pod' }), field: 'kind', forwarding: 'refuse' },
  { rule: 'apiVersion is v1', obj: svc({}, {}, { apiVersion: 'v2' }), field: 'apiVersion', forwarding: 'refuse' },
  { rule: 'metadata.name required', obj: svc({}, { name: '' }), field: 'metadata.name', forwarding: 'refuse' },
  { rule: 'metadata.name DNS-1035 label', obj: svc({}, { name: 'we\nb' }), field: 'metadata.name', forwarding: 'refuse' },
  { rule: 'metadata.namespace DNS-1123 label', obj: svc({}, { namespace: 'Shop\u001b[31m' }), field: 'metadata.namespace', forwarding: 'refuse' },
  { rule: 'label key and value syntax', obj: svc({}, { labels: { 'a b': 'x' } }), field: 'metadata.labels[a b]', forwarding: 'refuse' },
  { rule: 'annotation key syntax', obj: svc({}, { annotations: { 'a b': 'x' } }), field: 'metadata.annotations[a b]', forwarding: 'refuse' },
  { rule: 'spec.type known', obj: svc({ type: 'Magic' }), field: 'spec.type', forwarding: 'refuse' },
  { rule: 'port name required with several ports', obj: svc({ ports: [{ port: 80 }, { port: 81 }] }), field: 'spec.ports[0].name', forwarding: 'refuse' },
  { rule: 'port name DNS-1123 label', obj: svc({ ports: [{ name: 'HTTP', port: 80 }] }), field: 'spec.ports[0].name', forwarding: 'refuse' },
  { rule: 'port names unique', obj: svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), field: 'spec.ports[1].name', forwarding: 'refuse' },
  { rule: 'port required', obj: svc({ ports: [{ name: 'a' }] }), field: 'spec.ports[0].port', forwarding: 'refuse' },
  { rule: 'port in 1-65535', obj: svc({ ports: [{ port: 0 }] }), field: 'spec.ports[0].port', forwarding: 'refuse' },
  { rule: 'protocol known', obj: svc({ ports: [{ port: 80, protocol: 'ICMP' }] }), field: 'spec.ports[0].protocol', forwarding: 'refuse' },
  { rule: 'targetPort in 1-65535', obj: svc({ ports: [{ port: 80, targetPort: 70000 }] }), field: 'spec.ports[0].targetPort', forwarding: 'refuse' },
  { rule: 'targetPort name IANA syntax', obj: svc({ ports: [{ port: 80, targetPort: 'a;b' }] }), field: 'spec.ports[0].targetPort', forwarding: 'refuse' },
  { rule: 'nodePort in 1-65535', obj: svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 70000 }] }), field: 'spec.ports[0].nodePort', forwarding: 'refuse' },
  { rule: 'port/protocol unique', obj: svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), field: 'spec.ports[1]', forwarding: 'refuse' },
  {
    rule: 'nodePort/protocol unique',
    obj: svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30001 }, { name: 'b', port: 81, nodePort: 30001 }] }),
    field: 'spec.ports[1].nodePort',
    forwarding: 'refuse',
  },
  { rule: 'headless NodePort', obj: svc({ type: 'NodePort', clusterIP: 'None' }), field: 'spec.clusterIP', forwarding: 'refuse' },
  { rule: 'externalName required', obj: { metadata: { name: 'e' }, spec: { type: 'ExternalName' } }, field: 'spec.externalName', forwarding: 'refuse' },
  { rule: 'externalName DNS subdomain', obj: { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'a b' } }, field: 'spec.externalName', forwarding: 'refuse' },
  { rule: 'selector label syntax', obj: svc({ selector: { app: 'a b' } }), field: 'spec.selector[app]', forwarding: 'refuse' },
  { rule: 'sessionAffinity known', obj: svc({ sessionAffinity: 'Sticky' }), field: 'spec.sessionAffinity', forwarding: 'refuse' },
  {
    rule: 'affinity timeout 1-86400',
    obj: svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }),
    field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    forwarding: 'refuse',
  },
  { rule: 'clusterIPs[0] matches clusterIP', obj: svc({ clusterIPs: ['10.96.0.11'] }), field: 'spec.clusterIPs', forwarding: 'refuse' },
  { rule: 'clusterIPs only with clusterIP', obj: svc({ clusterIP: '', clusterIPs: ['10.96.0.11'] }), field: 'spec.clusterIPs', forwarding: 'refuse' },
  { rule: 'ipFamilies known', obj: svc({ ipFamilies: ['IPv5'] }), field: 'spec.ipFamilies[0]', forwarding: 'refuse' },
  { rule: 'ipFamilies unique', obj: svc({ clusterIP: '', ipFamilies: ['IPv4', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }), field: 'spec.ipFamilies[1]', forwarding: 'refuse' },
  { rule: 'ipFamilyPolicy known', obj: svc({ ipFamilyPolicy: 'Sometimes' }), field: 'spec.ipFamilyPolicy', forwarding: 'refuse' },
  { rule: 'clusterIP parses', obj: svc({ clusterIP: '10.96.0.300' }), field: 'spec.clusterIP', forwarding: 'refuse' },
  { rule: "'None' first and only", obj: svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'None'] }), field: 'spec.clusterIPs', forwarding: 'refuse' },
  { rule: 'one clusterIP per family', obj: svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', '10.96.0.11'], ipFamilyPolicy: 'PreferDualStack' }), field: 'spec.clusterIPs', forwarding: 'refuse' },
  { rule: 'clusterIP family matches ipFamilies', obj: svc({ ipFamilies: ['IPv6'] }), field: 'spec.clusterIP', forwarding: 'refuse' },
  { rule: 'SingleStack has one family', obj: svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'], ipFamilyPolicy: 'SingleStack' }), field: 'spec.ipFamilyPolicy', forwarding: 'refuse' },
  { rule: 'externalIPs parse', obj: svc({ externalIPs: ['nope'] }), field: 'spec.externalIPs[0]', forwarding: 'refuse' },
  { rule: 'externalIPs not special (loopback)', obj: svc({ externalIPs: ['127.0.0.1'] }), field: 'spec.externalIPs[0]', forwarding: 'refuse' },
  { rule: 'source ranges parse', obj: lb({ loadBalancerSourceRanges: ['10.0.0.0/33'] }), field: 'spec.loadBalancerSourceRanges[0]', forwarding: 'refuse' },
  {
    rule: 'source-ranges annotation parses',
    obj: svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] }, { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': 'x' } }),
    field: 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]',
    forwarding: 'refuse',
  },
  { rule: 'externalTrafficPolicy known', obj: svc({ type: 'NodePort', externalTrafficPolicy: 'Nearest' }), field: 'spec.externalTrafficPolicy', forwarding: 'refuse' },
  { rule: 'healthCheckNodePort in 1-65535', obj: lb({ externalTrafficPolicy: 'Local', healthCheckNodePort: 70000 }), field: 'spec.healthCheckNodePort', forwarding: 'refuse' },
  { rule: 'healthCheckNodePort differs from nodePorts', obj: lb({ externalTrafficPolicy: 'Local', healthCheckNodePort: 30080 }), field: 'spec.healthCheckNodePort', forwarding: 'refuse' },
  { rule: 'internalTrafficPolicy known', obj: svc({ internalTrafficPolicy: 'Nearest' }), field: 'spec.internalTrafficPolicy', forwarding: 'refuse' },
  { rule: 'ingress ip parses', obj: lb({}), field: 'status.loadBalancer.ingress[0].ip', forwarding: 'refuse' },
  { rule: 'ingress ipMode known', obj: lb({}), field: 'status.loadBalancer.ingress[0].ipMode', forwarding: 'refuse' },
  {
    rule: 'ingress annotation IPs parse',
    obj: svc({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] }, { annotations: { 'svcplane.io/load-balancer-ingress': 'x' } }),
    field: 'metadata.annotations[svcplane.io/load-balancer-ingress]',
    forwarding: 'refuse',
  },

  // ---- the API server's allocation under its own configuration: authoring only
  { rule: 'nodePort inside the node port range', obj: svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 3001 }] }), field: 'spec.ports[0].nodePort', forwarding: 'accept' },
  { rule: 'healthCheckNodePort inside the node port range', obj: lb({ externalTrafficPolicy: 'Local', healthCheckNodePort: 3002 }), field: 'spec.healthCheckNodePort', forwarding: 'accept' },
  { rule: 'clusterIP inside a service CIDR', obj: svc({ clusterIP: '10.200.0.10' }), field: 'spec.clusterIP', forwarding: 'accept' },
  { rule: 'clusterIP not the CIDR network address', obj: svc({ clusterIP: '10.96.0.0' }), field: 'spec.clusterIP', forwarding: 'accept' },
  { rule: 'clusterIP not the CIDR broadcast address', obj: svc({ clusterIP: '10.96.255.255' }), field: 'spec.clusterIP', forwarding: 'accept' },
  { rule: 'RequireDualStack gives both addresses', obj: svc({ ipFamilyPolicy: 'RequireDualStack' }), field: 'spec.clusterIPs', forwarding: 'accept' },

  // ---- fields that do not apply: authoring refuses, forwarding drops them with a warning
  { rule: 'nodePort on a ClusterIP Service', obj: svc({ ports: [{ port: 80, nodePort: 30080 }] }), field: 'spec.ports[0].nodePort', forwarding: 'ignore', dropped: (s) => s.ports[0]!.nodePort === undefined },
  { rule: 'appProtocol syntax', obj: svc({ ports: [{ port: 80, appProtocol: 'a b' }] }), field: 'spec.ports[0].appProtocol', forwarding: 'ignore', dropped: (s) => s.ports[0]!.appProtocol === undefined },
  { rule: 'at least one port', obj: svc({ ports: [] }), field: 'spec.ports', forwarding: 'ignore', dropped: (s) => s.ports.length === 0 },
  {
    rule: 'topology annotations agree',
    obj: svc({}, { annotations: { 'service.kubernetes.io/topology-mode': 'Auto', 'service.kubernetes.io/topology-aware-hints': 'Disabled' } }),
    field: 'metadata.annotations[service.kubernetes.io/topology-mode]',
    forwarding: 'ignore',
    dropped: (s) => s.topologyMode === 'Auto',
  },
  {
    rule: 'clusterIP on an ExternalName Service',
    obj: { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.10' } },
    field: 'spec.clusterIP',
    forwarding: 'ignore',
    dropped: (s) => s.clusterIPs.length === 0,
  },
  {
    rule: 'ipFamilies on an ExternalName Service',
    obj: { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db.example.com', ipFamilies: ['IPv4'] } },
    field: 'spec.ipFamilies',
    forwarding: 'ignore',
    dropped: (s) => s.ipFamilies.length === 0,
  },
  {
    rule: 'ipFamilyPolicy on an ExternalName Service',
    obj: { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db.example.com', ipFamilyPolicy: 'RequireDualStack' } },
    field: 'spec.ipFamilyPolicy',
    forwarding: 'ignore',
    dropped: (s) => s.ipFamilyPolicy === 'SingleStack',
  },
  { rule: 'sessionAffinityConfig with affinity None', obj: svc({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }), field: 'spec.sessionAffinityConfig', forwarding: 'ignore', dropped: (s) => s.sessionAffinity === 'None' },
  { rule: 'source ranges on a non-LoadBalancer', obj: svc({ loadBalancerSourceRanges: ['10.0.0.0/8'] }), field: 'spec.loadBalancerSourceRanges', forwarding: 'ignore', dropped: (s) => s.loadBalancerSourceRanges.length === 0 },
  {
    rule: 'source-ranges annotation on a non-LoadBalancer',
    obj: svc({}, { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8' } }),
    field: 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]',
    forwarding: 'ignore',
    dropped: (s) => s.loadBalancerSourceRanges.length === 0,
  },
  { rule: 'allocateLoadBalancerNodePorts on a non-LoadBalancer', obj: svc({ allocateLoadBalancerNodePorts: false }), field: 'spec.allocateLoadBalancerNodePorts', forwarding: 'ignore', dropped: (s) => s.allocateLoadBalancerNodePorts === undefined },
  { rule: 'loadBalancerClass on a non-LoadBalancer', obj: svc({ loadBalancerClass: 'x.io/y' }), field: 'spec.loadBalancerClass', forwarding: 'ignore', dropped: (s) => s.loadBalancerClass === undefined },
  { rule: 'loadBalancerClass syntax', obj: lb({ loadBalancerClass: 'a b' }), field: 'spec.loadBalancerClass', forwarding: 'ignore', dropped: (s) => s.loadBalancerClass === undefined },
  { rule: 'externalTrafficPolicy on an internal Service', obj: svc({ externalTrafficPolicy: 'Local' }), field: 'spec.externalTrafficPolicy', forwarding: 'ignore', dropped: (s) => s.externalTrafficPolicy === 'Cluster' },
  { rule: 'healthCheckNodePort where it does not apply', obj: svc({ healthCheckNodePort: 30100 }), field: 'spec.healthCheckNodePort', forwarding: 'ignore', dropped: (s) => s.healthCheckNodePort === undefined },
  { rule: 'trafficDistribution known (a newer value)', obj: svc({ trafficDistribution: 'PreferSameRack' }), field: 'spec.trafficDistribution', forwarding: 'ignore', dropped: (s) => s.trafficDistribution === undefined },
  { rule: 'ingress on a non-LoadBalancer', obj: svc({}, {}, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }), field: 'status.loadBalancer.ingress', forwarding: 'ignore', dropped: (s) => s.loadBalancerIngress.length === 0 },
  { rule: 'ingress hostname is a DNS name', obj: lb({}), field: 'status.loadBalancer.ingress[0].hostname', forwarding: 'ignore', dropped: (s) => s.loadBalancerIngress[0]!.hostname === undefined },
  { rule: 'ingress ipMode only with ip', obj: lb({}), field: 'status.loadBalancer.ingress[0].ipMode', forwarding: 'ignore', dropped: (s) => s.loadBalancerIngress[0]!.ipMode === undefined },
  {
    rule: 'ingress annotation on a non-LoadBalancer',
    obj: svc({}, { annotations: { 'svcplane.io/load-balancer-ingress': '192.0.2.1' } }),
    field: 'metadata.annotations[svcplane.io/load-balancer-ingress]',
    forwarding: 'ignore',
    dropped: (s) => s.loadBalancerIngress.length === 0,
  },
];

// The status-based rows need their own status; one row, one problem.
const STATUS: Record<string, Obj> = {
  'ingress ip parses': { ingress: [{ ip: '192.0.2.300' }] },
  'ingress ipMode known': { ingress: [{ ip: '192.0.2.1', ipMode: 'Tunnel' }] },
  'ingress hostname is a DNS name': { ingress: [{ ip: '192.0.2.1', hostname: '192.0.2.2' }] },
  'ingress ipMode only with ip': { ingress: [{ hostname: 'lb.example.com', ipMode: 'VIP' }] },
};
const objectOf = (row: Row): Obj => (STATUS[row.rule] ? { ...row.obj, status: { loadBalancer: STATUS[row.rule] } } : row.obj);

for (const row of ROWS) {
  test(`${row.rule}: authoring refuses ${row.field}; forwarding ${row.forwarding}s`, () => {
    const obj = objectOf(row);
    const authoring = readService(obj, { ...opts, purpose: 'authoring' });
    assert.ok(
      authoring.issues.some((i) => i.field === row.field),
      `authoring must refuse ${row.field}; got ${JSON.stringify(authoring.issues)}`,
    );
    assert.deepEqual(authoring.ignored, [], 'authoring ignores nothing');
    const fwd = readService(obj, { ...opts, purpose: 'forwarding' });
    const refused = fwd.issues.some((i) => i.field === row.field);
    const ignored = fwd.ignored.filter((i) => i.field === row.field);
    switch (row.forwarding) {
      case 'refuse':
        assert.ok(refused, `forwarding must refuse ${row.field}; got ${JSON.stringify(fwd.issues)}`);
        break;
      case 'accept':
        assert.deepEqual(fwd.issues, [], 'forwarding accepts the object');
        assert.deepEqual(fwd.ignored, [], 'and says nothing: the cluster allocated it under its own configuration');
        break;
      case 'ignore':
        assert.deepEqual(fwd.issues, [], 'forwarding accepts the object');
        assert.equal(ignored.length, 1, `one warning for ${row.field}; got ${JSON.stringify(fwd.ignored)}`);
        assert.ok(row.dropped!(fwd.service!), 'the field that does not apply is dropped from what forwards');
        break;
    }
  });
}

test('every row is one rule: the table has no duplicate rule names', () => {
  assert.equal(new Set(ROWS.map((r) => r.rule)).size, ROWS.length);
});

test('forwarding keeps the address and node port the cluster allocated', () => {
  const s = readService(svc({ type: 'NodePort', clusterIP: '10.200.0.10', ports: [{ port: 80, nodePort: 3001 }] }), { ...opts, purpose: 'forwarding' }).service!;
  assert.deepEqual(s.clusterIPs, ['10.200.0.10']);
  assert.equal(s.ports[0]!.nodePort, 3001);
});
