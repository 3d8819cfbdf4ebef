// The feature inputs every backend renders: one small RenderInput per Service
// feature, so the backends' golden files can be read side by side.

import type { RenderInput } from '../../src/model/render-input.js';
import { ep, input, port, slice, svc } from './model.js';

export const web = svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 'http', { name: 'http' })] });
export const webSlices = [
  slice('web', [ep('10.244.1.10', 'node1')], [{ name: 'http', port: 8080 }], { name: 'web-a' }),
  // Another slice resolves the named targetPort to another number for its pods.
  slice('web', [ep('10.244.2.10', 'node2')], [{ name: 'http', port: 9090 }], { name: 'web-b' }),
];

export const features: Record<string, RenderInput> = {
  'clusterip-named-targetport': input([web], webSlices),
  'udp-and-sctp': input(
    [svc({ name: 'dns', clusterIPs: ['10.96.0.53'], ports: [port(53, 53, { name: 'dns', protocol: 'UDP' }), port(9, 9, { name: 'sctp', protocol: 'SCTP' })] })],
    [slice('dns', [ep('10.244.1.20', 'node1')], [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'sctp', port: 9, protocol: 'SCTP' }])],
  ),
  'no-endpoints-reject': input([svc({ name: 'empty', clusterIPs: ['10.96.0.12'], type: 'NodePort', ports: [port(80, 80, { nodePort: 30012 })], externalIPs: ['192.0.2.12'] })]),
  'nodeport': input(
    [svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.20'], ports: [port(80, 8080, { nodePort: 30080 })] })],
    [slice('np', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ port: 8080 }])],
    { config: { nodePortAddresses: ['192.168.0.0/16'] } },
  ),
  'nodeport-all-addresses-localhost': input(
    [svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.21', 'fd00:10:96::21'], ports: [port(80, 8080, { nodePort: 30081 })] })],
    [slice('np', [ep('10.244.1.10', 'node1')], [{ port: 8080 }])],
    { config: { nodePortAddresses: ['0.0.0.0/0', '::/0'], localhostNodePorts: true } },
  ),
  'nodeport-all-addresses-no-localhost': input(
    [svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.21'], ports: [port(80, 8080, { nodePort: 30081 })] })],
    [slice('np', [ep('10.244.1.10', 'node1')], [{ port: 8080 }])],
    { config: { nodePortAddresses: ['0.0.0.0/0'], localhostNodePorts: false } },
  ),
  'loadbalancer-source-ranges': input(
    [svc({ name: 'lb', type: 'LoadBalancer', clusterIPs: ['10.96.0.30'], ports: [port(443, 8443, { nodePort: 30443 })], loadBalancerIngress: [{ ip: '203.0.113.30', ipMode: 'VIP' }, { ip: '203.0.113.31', ipMode: 'Proxy' }], loadBalancerSourceRanges: ['198.51.100.0/24', '192.168.50.0/24'] })],
    [slice('lb', [ep('10.244.2.30', 'node2')], [{ port: 8443 }])],
  ),
  'session-affinity': input(
    [svc({ name: 'sticky', clusterIPs: ['10.96.0.40', 'fd00:10:96::40'], ports: [port(80, 8080)], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } })],
    [
      slice('sticky', [ep('10.244.1.40', 'node1'), ep('10.244.2.40', 'node2')], [{ port: 8080 }]),
      slice('sticky', [ep('fd00:244:1::40', 'node1')], [{ port: 8080 }], { addressType: 'IPv6' }),
    ],
  ),
  'external-traffic-policy-local': input(
    [svc({ name: 'etp', type: 'LoadBalancer', clusterIPs: ['10.96.0.50'], ports: [port(80, 8080, { nodePort: 30050 })], externalTrafficPolicy: 'Local', healthCheckNodePort: 32050, loadBalancerIngress: [{ ip: '203.0.113.50', ipMode: 'VIP' }] })],
    [slice('etp', [ep('10.244.1.50', 'node1'), ep('10.244.2.50', 'node2')], [{ port: 8080 }])],
  ),
  'external-traffic-policy-local-none-here': input(
    [svc({ name: 'etp', type: 'NodePort', clusterIPs: ['10.96.0.51'], ports: [port(80, 8080, { nodePort: 30051 })], externalTrafficPolicy: 'Local', externalIPs: ['192.0.2.51'] })],
    [slice('etp', [ep('10.244.2.51', 'node2')], [{ port: 8080 }])],
  ),
  'internal-traffic-policy-local': input(
    [
      svc({ name: 'itp-here', clusterIPs: ['10.96.0.60'], ports: [port(80, 8080)], internalTrafficPolicy: 'Local' }),
      svc({ name: 'itp-elsewhere', clusterIPs: ['10.96.0.61'], ports: [port(80, 8080)], internalTrafficPolicy: 'Local' }),
    ],
    [
      slice('itp-here', [ep('10.244.1.60', 'node1'), ep('10.244.2.60', 'node2')], [{ port: 8080 }]),
      slice('itp-elsewhere', [ep('10.244.2.61', 'node2')], [{ port: 8080 }]),
    ],
  ),
  'terminating-fallback': input(
    [svc({ name: 'term', clusterIPs: ['10.96.0.70'], ports: [port(80, 8080)] })],
    [slice('term', [
      ep('10.244.1.70', 'node1', { ready: false, serving: true, terminating: true }),
      ep('10.244.1.71', 'node1', { ready: false, serving: false, terminating: true }),
    ], [{ port: 8080 }])],
  ),
  'masquerade-all': input(
    [svc({ name: 'm', clusterIPs: ['10.96.0.80'], ports: [port(80, 8080)] })],
    [slice('m', [ep('10.244.1.80', 'node1')], [{ port: 8080 }])],
    { config: { masqueradeAll: true, masqueradeBit: 10 } },
  ),
  'detect-local-bridge': input(
    [svc({ name: 'b', clusterIPs: ['10.96.0.81'], ports: [port(80, 8080)] })],
    [slice('b', [ep('10.244.1.81', 'node1')], [{ port: 8080 }])],
    { config: { detectLocalMode: 'BridgeInterface', bridgeInterface: 'br0' } },
  ),
  'detect-local-interface-prefix': input(
    [svc({ name: 'b', clusterIPs: ['10.96.0.82'], ports: [port(80, 8080)], type: 'NodePort', externalTrafficPolicy: 'Local' })],
    [slice('b', [ep('10.244.1.82', 'node1')], [{ port: 8080 }])],
    { config: { detectLocalMode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' } },
  ),
  'dual-stack': input(
    [svc({ name: 'ds', clusterIPs: ['fd00:10:96::90', '10.96.0.90'], ports: [port(80, 8080)] })],
    [
      slice('ds', [ep('10.244.1.90', 'node1')], [{ port: 8080 }]),
      slice('ds', [ep('fd00:244:1::90', 'node1'), ep('fd00:244:2::90', 'node2')], [{ port: 8080 }], { addressType: 'IPv6' }),
    ],
  ),
  'external-ips': input(
    [svc({ name: 'ext', clusterIPs: ['10.96.0.100'], ports: [port(80, 8080)], externalIPs: ['192.0.2.100'] })],
    [slice('ext', [ep('10.244.2.100', 'node2')], [{ port: 8080 }])],
  ),
  'topology-zone-hints': input(
    [svc({ name: 'topo', clusterIPs: ['10.96.0.110'], ports: [port(80, 8080)], trafficDistribution: 'PreferClose' })],
    [slice('topo', [
      ep('10.244.1.110', 'node1', { zone: 'a', hintZones: ['a'] }),
      ep('10.244.2.110', 'node2', { zone: 'b', hintZones: ['b'] }),
    ], [{ port: 8080 }])],
    { node: { name: 'node1', addresses: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'], zone: 'a' } },
  ),
};
