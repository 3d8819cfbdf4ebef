import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldIssue } from '../../src/model/errors.js';
import { LOAD_BALANCER_INGRESS_ANNOTATION, readService, validateService } from '../../src/model/validate-service.js';
import { svc, type Obj } from './service-manifest.js';

function only(issues: FieldIssue[], field: string, message: RegExp): void {
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues)}`);
  assert.equal(issues[0]!.field, field);
  assert.match(issues[0]!.message, message);
}

const np = (ports: Obj[], more: Obj = {}): Obj => svc({ type: 'NodePort', ports, ...more });

test('a plain ClusterIP Service, a NodePort, a LoadBalancer, an ExternalName and a headless Service are valid', () => {
  assert.deepEqual(validateService(svc()), []);
  assert.deepEqual(validateService(np([{ port: 80, nodePort: 30080 }])), []);
  assert.deepEqual(
    validateService(
      svc({
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 31000,
        loadBalancerSourceRanges: [' 10.0.0.0/8 '],
        loadBalancerClass: 'example.com/lb',
        allocateLoadBalancerNodePorts: false,
        ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }],
      }),
    ),
    [],
  );
  assert.deepEqual(validateService({ metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com.' } }), []);
  assert.deepEqual(validateService(svc({ clusterIP: 'None', ports: [] })), []);
  assert.deepEqual(validateService(svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], ipFamilyPolicy: 'PreferDualStack' })), []);
});

// Each row: a Service with one thing wrong, the field the issue must name, and its message.
const cases: Array<[string, Obj, string, RegExp]> = [
  ['name missing', svc({}, { name: undefined }), 'metadata.name', /is required/],
  ['name not DNS-1035', svc({}, { name: '1web' }), 'metadata.name', /DNS-1035/],
  ['namespace not DNS-1123', svc({}, { namespace: 'Shop' }), 'metadata.namespace', /RFC 1123 label/],
  ['bad label key', svc({}, { labels: { 'a/b/c': 'x' } }), 'metadata.labels[a/b/c]', /key must be a qualified name/],
  ['bad label value', svc({}, { labels: { app: '-x' } }), 'metadata.labels[app]', /value "-x"/],
  ['bad annotation key', svc({}, { annotations: { '-bad': 'x' } }), 'metadata.annotations[-bad]', /name part/],
  ['wrong kind', { ...svc(), kind: 'Pod' }, 'kind', /must be "Service"/],
  ['wrong apiVersion', { ...svc(), apiVersion: 'v2' }, 'apiVersion', /must be "v1"/],
  ['unknown type', svc({ type: 'Internal' }), 'spec.type', /unsupported value "Internal": must be one of "ClusterIP", "NodePort"/],
  ['no ports', svc({ ports: [] }), 'spec.ports', /at least one port/],
  ['port 0', svc({ ports: [{ port: 0 }] }), 'spec.ports[0].port', /between 1 and 65535/],
  ['port 65536', svc({ ports: [{ port: 65536 }] }), 'spec.ports[0].port', /between 1 and 65535/],
  ['port missing', svc({ ports: [{ name: 'x' }] }), 'spec.ports[0].port', /is required/],
  ['port a string', svc({ ports: [{ port: '80' }] }), 'spec.ports[0].port', /must be an integer, not the string "80"/],
  ['port not integral', svc({ ports: [{ port: 80.5 }] }), 'spec.ports[0].port', /must be an integer/],
  ['name needed with two ports', svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), 'spec.ports[1].name', /required when the Service has more than one port/],
  ['duplicate port name', svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'spec.ports[1].name', /duplicate port name "a"/],
  ['port name not DNS-1123', svc({ ports: [{ name: 'Http', port: 80 }] }), 'spec.ports[0].name', /RFC 1123 label/],
  ['duplicate port and protocol', svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'TCP' }] }), 'spec.ports[1]', /duplicate port 80\/TCP \(also spec.ports\[0\]\)/],
  ['bad protocol', svc({ ports: [{ port: 80, protocol: 'tcp' }] }), 'spec.ports[0].protocol', /unsupported value "tcp"/],
  ['targetPort out of range', svc({ ports: [{ port: 80, targetPort: 70000 }] }), 'spec.ports[0].targetPort', /between 1 and 65535/],
  ['targetPort name without a letter', svc({ ports: [{ port: 80, targetPort: '8080' }] }), 'spec.ports[0].targetPort', /at least one letter/],
  ['targetPort name too long', svc({ ports: [{ port: 80, targetPort: 'a-very-long-name' }] }), 'spec.ports[0].targetPort', /15 characters/],
  ['targetPort a boolean', svc({ ports: [{ port: 80, targetPort: true }] }), 'spec.ports[0].targetPort', /integer or a string/],
  ['appProtocol not a qualified name', svc({ ports: [{ port: 80, appProtocol: 'a b' }] }), 'spec.ports[0].appProtocol', /name part/],
  ['nodePort on ClusterIP', svc({ ports: [{ port: 80, nodePort: 30080 }] }), 'spec.ports[0].nodePort', /may not be used when type is ClusterIP/],
  ['nodePort below the range', np([{ port: 80, nodePort: 8080 }]), 'spec.ports[0].nodePort', /node port range 30000-32767/],
  ['nodePort above 65535', np([{ port: 80, nodePort: 70000 }]), 'spec.ports[0].nodePort', /between 1 and 65535/],
  ['duplicate nodePort per protocol', np([{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }]), 'spec.ports[1].nodePort', /duplicate nodePort 30080\/TCP/],
  ['clusterIPs[0] differs from clusterIP', svc({ clusterIPs: ['10.96.0.11'] }), 'spec.clusterIPs', /first value must match spec.clusterIP/],
  ['clusterIPs without clusterIP', svc({ clusterIP: undefined, clusterIPs: ['10.96.0.11'] }), 'spec.clusterIPs', /must be empty when spec.clusterIP is not set/],
  ['None not alone', svc({ clusterIP: 'None', clusterIPs: ['None', 'fd00::1'], ipFamilyPolicy: 'PreferDualStack' }), 'spec.clusterIPs', /'None' must be the first and only value/],
  ['clusterIP not an IP', svc({ clusterIP: '10.96.0.300' }), 'spec.clusterIP', /valid IP address/],
  ['clusterIPs[1] not an IP', svc({ clusterIPs: ['10.96.0.10', 'fd00::g'], ipFamilyPolicy: 'PreferDualStack' }), 'spec.clusterIPs[1]', /valid IP address/],
  ['three clusterIPs', svc({ clusterIPs: ['10.96.0.10', 'fd00::1', '10.96.0.11'], ipFamilyPolicy: 'PreferDualStack' }), 'spec.clusterIPs', /at most 2 values/],
  ['two clusterIPs of one family', svc({ clusterIPs: ['10.96.0.10', '10.96.0.11'], ipFamilyPolicy: 'PreferDualStack' }), 'spec.clusterIPs', /one IP of each family/],
  ['clusterIP family contradicts ipFamilies', svc({ ipFamilies: ['IPv6'] }), 'spec.clusterIP', /expected an IPv6 address, as spec.ipFamilies\[0\] says/],
  ['unknown ipFamily', svc({ ipFamilies: ['IPv5'] }), 'spec.ipFamilies[0]', /unsupported value "IPv5"/],
  ['duplicate ipFamily', svc({ clusterIP: undefined, ipFamilies: ['IPv4', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }), 'spec.ipFamilies[1]', /duplicate family IPv4/],
  ['unknown ipFamilyPolicy', svc({ ipFamilyPolicy: 'DualStack' }), 'spec.ipFamilyPolicy', /unsupported value "DualStack"/],
  ['SingleStack with two families', svc({ clusterIPs: ['10.96.0.10', 'fd00::1'], ipFamilyPolicy: 'SingleStack' }), 'spec.ipFamilyPolicy', /PreferDualStack' or 'RequireDualStack/],
  ['RequireDualStack with one clusterIP', svc({ ipFamilyPolicy: 'RequireDualStack' }), 'spec.clusterIPs', /RequireDualStack needs a clusterIP of each family/],
  ['headless NodePort', svc({ type: 'NodePort', clusterIP: 'None' }), 'spec.clusterIP', /may not be 'None' for NodePort/],
  ['headless LoadBalancer via clusterIPs', svc({ type: 'LoadBalancer', clusterIP: 'None', clusterIPs: ['None'] }), 'spec.clusterIPs[0]', /may not be 'None' for LoadBalancer/],
  ['ExternalName without externalName', { metadata: { name: 'e' }, spec: { type: 'ExternalName' } }, 'spec.externalName', /is required/],
  ['ExternalName with a bad name', { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db_1.example.com' } }, 'spec.externalName', /RFC 1123 subdomain/],
  ['ExternalName with a clusterIP', { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db', clusterIP: '10.96.0.1' } }, 'spec.clusterIP', /may not be set for ExternalName/],
  ['ExternalName with ipFamilyPolicy', { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db', ipFamilyPolicy: 'SingleStack' } }, 'spec.ipFamilyPolicy', /may not be set for ExternalName/],
  ['ExternalName with ipFamilies', { metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'db', ipFamilies: ['IPv4'] } }, 'spec.ipFamilies', /may not be set for ExternalName/],
  ['externalIP not an IP', svc({ externalIPs: ['1.2.3'] }), 'spec.externalIPs[0]', /valid IP address/],
  ['externalIP loopback', svc({ externalIPs: ['192.0.2.1', '127.0.0.2'] }), 'spec.externalIPs[1]', /loopback/],
  ['externalIP unspecified', svc({ externalIPs: ['::'] }), 'spec.externalIPs[0]', /unspecified/],
  ['externalIP link-local', svc({ externalIPs: ['fe80::1'] }), 'spec.externalIPs[0]', /link-local range/],
  ['externalIP link-local multicast', svc({ externalIPs: ['224.0.0.5'] }), 'spec.externalIPs[0]', /link-local multicast/],
  ['selector key invalid', svc({ selector: { 'app!': 'web' } }), 'spec.selector[app!]', /key name part/],
  ['selector value invalid', svc({ selector: { app: 'web app' } }), 'spec.selector[app]', /value "web app"/],
  ['selector value not a string', svc({ selector: { app: 1 } }), 'spec.selector[app]', /must be a string, not the number 1/],
  ['unknown sessionAffinity', svc({ sessionAffinity: 'Cookie' }), 'spec.sessionAffinity', /unsupported value "Cookie"/],
  ['affinity timeout 0', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', /between 1 and 86400/],
  ['affinity timeout too long', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', /between 1 and 86400/],
  ['affinity config with None', svc({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }), 'spec.sessionAffinityConfig', /must not be set when sessionAffinity is None/],
  ['externalTrafficPolicy on ClusterIP', svc({ externalTrafficPolicy: 'Local' }), 'spec.externalTrafficPolicy', /externally-accessible/],
  ['unknown externalTrafficPolicy', np([{ port: 80 }], { externalTrafficPolicy: 'Node' }), 'spec.externalTrafficPolicy', /unsupported value "Node"/],
  ['unknown internalTrafficPolicy', svc({ internalTrafficPolicy: 'Zone' }), 'spec.internalTrafficPolicy', /unsupported value "Zone"/],
  ['healthCheckNodePort on NodePort', np([{ port: 80 }], { healthCheckNodePort: 31000 }), 'spec.healthCheckNodePort', /type is LoadBalancer and externalTrafficPolicy is Local/],
  ['healthCheckNodePort with Cluster', svc({ type: 'LoadBalancer', healthCheckNodePort: 31000 }), 'spec.healthCheckNodePort', /externalTrafficPolicy is Local/],
  ['healthCheckNodePort out of range', svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 10 }), 'spec.healthCheckNodePort', /node port range/],
  ['healthCheckNodePort equal to a nodePort', svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30080, ports: [{ port: 80, nodePort: 30080 }] }), 'spec.healthCheckNodePort', /must differ from every nodePort/],
  ['loadBalancerSourceRanges on NodePort', np([{ port: 80 }], { loadBalancerSourceRanges: ['10.0.0.0/8'] }), 'spec.loadBalancerSourceRanges', /only be used when type is LoadBalancer/],
  ['loadBalancerSourceRanges not a CIDR', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.1'] }), 'spec.loadBalancerSourceRanges[1]', /valid CIDR/],
  ['source-ranges annotation not a CIDR', svc({ type: 'LoadBalancer' }, { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8, x' } }), 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]', /"x" must be a valid CIDR/],
  ['loadBalancerClass on ClusterIP', svc({ loadBalancerClass: 'x' }), 'spec.loadBalancerClass', /only be used when type is LoadBalancer/],
  ['loadBalancerClass not qualified', svc({ type: 'LoadBalancer', loadBalancerClass: 'a/b/c' }), 'spec.loadBalancerClass', /qualified name/],
  ['allocateLoadBalancerNodePorts on NodePort', np([{ port: 80 }], { allocateLoadBalancerNodePorts: true }), 'spec.allocateLoadBalancerNodePorts', /only be used when type is LoadBalancer/],
  ['allocateLoadBalancerNodePorts a string', svc({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: 'yes' }), 'spec.allocateLoadBalancerNodePorts', /must be true or false/],
  ['unknown trafficDistribution', svc({ trafficDistribution: 'PreferRegion' }), 'spec.trafficDistribution', /unsupported value "PreferRegion": must be one of "PreferClose", "PreferSameZone", "PreferSameNode"/],
  ['ingress status on ClusterIP', svc({}, {}, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }), 'status.loadBalancer.ingress', /only be used when type is LoadBalancer/],
  ['ingress ip invalid', svc({ type: 'LoadBalancer' }, {}, { status: { loadBalancer: { ingress: [{ ip: 'x' }] } } }), 'status.loadBalancer.ingress[0].ip', /valid IP/],
  ['ingress ipMode unknown', svc({ type: 'LoadBalancer' }, {}, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'Direct' }] } } }), 'status.loadBalancer.ingress[0].ipMode', /unsupported value "Direct"/],
  ['ingress ipMode without ip', svc({ type: 'LoadBalancer' }, {}, { status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com', ipMode: 'VIP' }] } } }), 'status.loadBalancer.ingress[0].ipMode', /only be set when ip is set/],
  ['ingress hostname an IP', svc({ type: 'LoadBalancer' }, {}, { status: { loadBalancer: { ingress: [{ hostname: '192.0.2.1' }] } } }), 'status.loadBalancer.ingress[0].hostname', /not an IP/],
  ['ingress annotation not an IP', svc({ type: 'LoadBalancer' }, { annotations: { [LOAD_BALANCER_INGRESS_ANNOTATION]: '192.0.2.1,lb' } }), `metadata.annotations[${LOAD_BALANCER_INGRESS_ANNOTATION}]`, /"lb" must be a valid IP/],
  ['ingress annotation on NodePort', np([{ port: 80 }], {}), 'x', /x/], // replaced below
  ['topology annotations disagree', svc({}, { annotations: { 'service.kubernetes.io/topology-mode': 'Auto', 'service.kubernetes.io/topology-aware-hints': 'auto' } }), 'metadata.annotations[service.kubernetes.io/topology-mode]', /must match annotations\[service.kubernetes.io\/topology-aware-hints\]/],
  ['spec a list', { metadata: { name: 'web' }, spec: [] }, 'spec', /must be an object, not a list/],
  ['ports not a list', svc({ ports: { port: 80 } }), 'spec.ports', /must be a list/],
  ['publishNotReadyAddresses a string', svc({ publishNotReadyAddresses: 'true' }), 'spec.publishNotReadyAddresses', /must be true or false/],
];
cases[cases.findIndex((c) => c[0] === 'ingress annotation on NodePort')] = [
  'ingress annotation on NodePort',
  svc({ type: 'NodePort' }, { annotations: { [LOAD_BALANCER_INGRESS_ANNOTATION]: '192.0.2.1' } }),
  `metadata.annotations[${LOAD_BALANCER_INGRESS_ANNOTATION}]`,
  /only be used when type is LoadBalancer/,
];

for (const [name, obj, field, message] of cases) {
  test(`rejects: ${name}`, () => only(validateService(obj), field, message));
}

test('node port range and service CIDRs come from the options', () => {
  const s = np([{ port: 80, nodePort: 8080 }]);
  assert.deepEqual(validateService(s, { nodePortRange: { min: 8000, max: 9000 } }), []);
  only(validateService(np([{ port: 80, nodePort: 30080 }]), { nodePortRange: { min: 8000, max: 9000 } }), 'spec.ports[0].nodePort', /8000-9000/);

  const cidrs = ['10.96.0.0/16', 'fd00::/108'];
  assert.deepEqual(validateService(svc(), { serviceCIDRs: cidrs }), []);
  only(validateService(svc({ clusterIP: '10.97.0.1' }), { serviceCIDRs: cidrs }), 'spec.clusterIP', /inside a service CIDR \(10.96.0.0\/16, fd00::\/108\)/);
  only(validateService(svc({ clusterIP: '10.96.0.0' }), { serviceCIDRs: cidrs }), 'spec.clusterIP', /network address of service CIDR 10.96.0.0\/16/);
  only(validateService(svc({ clusterIP: '10.96.255.255' }), { serviceCIDRs: cidrs }), 'spec.clusterIP', /broadcast address/);
  only(
    validateService(svc({ clusterIPs: ['10.96.0.10', 'fd01::1'], ipFamilyPolicy: 'RequireDualStack' }), { serviceCIDRs: cidrs }),
    'spec.clusterIPs[1]',
    /inside a service CIDR/,
  );
  // Headless Services have no address to check.
  assert.deepEqual(validateService(svc({ clusterIP: 'None' }), { serviceCIDRs: cidrs }), []);
});

test('several problems are all reported, in field order of the checks', () => {
  const issues = validateService(svc({ type: 'Bogus', ports: [{ port: 0, protocol: 'ICMP' }] }, { name: 'Web' }));
  assert.deepEqual(
    issues.map((i) => i.field),
    ['metadata.name', 'spec.type', 'spec.ports[0].port', 'spec.ports[0].protocol'],
  );
});

test('same port number on TCP and UDP, and same nodePort on both, are fine', () => {
  const s = np([
    { name: 'dns-tcp', port: 53, nodePort: 30053 },
    { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 },
  ]);
  assert.deepEqual(validateService(s), []);
});

test('an object that is not an object is one issue at the root', () => {
  only(validateService('Service'), '(root)', /must be an object, not the string "Service"/);
  only(validateService(null), '(root)', /not null/);
});

test('readService applies the API defaults', () => {
  const { service, issues } = readService({ metadata: { name: 'web' }, spec: { ports: [{ port: 80 }], externalIPs: ['192.0.2.9'] } });
  assert.deepEqual(issues, []);
  assert.ok(service);
  assert.equal(service.namespace, 'default');
  assert.equal(service.type, 'ClusterIP');
  assert.deepEqual(service.ports, [{ name: '', protocol: 'TCP', port: 80, targetPort: 80 }]);
  assert.equal(service.sessionAffinity, 'None');
  assert.equal(service.externalTrafficPolicy, 'Cluster');
  assert.equal(service.internalTrafficPolicy, 'Cluster');
  assert.equal(service.ipFamilyPolicy, 'SingleStack');
  // Two clusterIPs and no policy: the allocator infers RequireDualStack.
  const ds = readService(svc({ clusterIPs: ['10.96.0.10', 'fd00::a'] }));
  assert.deepEqual(ds.issues, []);
  assert.equal(ds.service?.ipFamilyPolicy, 'RequireDualStack');
});
