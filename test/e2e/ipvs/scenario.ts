// The two render inputs of the IPVS end-to-end test (ipvs-vm.test.ts) and the VM
// topology they assume. One node, "node1", is the VM's root namespace; pods are
// network namespaces on a bridge; an external client namespace sits on a veth.
//
//   client ns  eth0 192.168.50.2/24 + 192.168.50.3/24 ── to-client 192.168.50.1/24  (root ns = node1)
//   pod<i> ns  eth0 10.244.1.<i>/24 ── veth<i> ── br0 10.244.1.1/24                 (i = 10..14)
//
// Every pod runs a TCP echo server on :8080 answering "ep-<i> <peer address>".

import type { NodeContext } from '../../../src/model/node.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

export const PODS = [10, 11, 12, 13, 14] as const;
export const POD_PORT = 8080;
export const NODE_IP = '192.168.50.1';
export const BRIDGE_IP = '10.244.1.1';
export const CLIENT_IPS = ['192.168.50.2', '192.168.50.3'] as const;

// The Services (all TCP, port 80 -> 8080 on the pods).
export const WEB = { ip: '10.96.0.10' }; //                     ClusterIP, 3 endpoints (B: one removed)
export const NP = { ip: '10.96.0.20', nodePort: 30080 }; //      NodePort, Cluster policy (B: one terminating)
export const STICKY = { ip: '10.96.0.30' }; //                   ClientIP affinity (B: Service deleted)
export const EMPTY = { ip: '10.96.0.40' }; //                    no endpoints (B: one added)
export const LOCAL = { ip: '10.96.0.50', nodePort: 30081 }; //   NodePort, Local policy, one endpoint here, one on node2

/** The Node object: its InternalIP. Apply adds what it reads from the kernel (nodeForApply). */
export const NODE: NodeContext = { name: 'node1', addresses: [NODE_IP], podCIDRs: ['10.244.1.0/24'] };

/** The VM node's interface addresses before anything of ours is there. */
export const INTERFACE_ADDRESSES = [BRIDGE_IP, NODE_IP] as const;

const pod = (i: number) => `10.244.1.${i}`;
const tcp = [{ port: POD_PORT }];

/** Step A or B, for the node as apply sees it then. */
export function scenario(step: 'A' | 'B', node: NodeContext): RenderInput {
  const a = step === 'A';
  const services = [
    svc({ name: 'web', clusterIPs: [WEB.ip], ports: [port(80, POD_PORT)] }),
    svc({ name: 'np', type: 'NodePort', clusterIPs: [NP.ip], ports: [port(80, POD_PORT, { nodePort: NP.nodePort })] }),
    ...(a
      ? [svc({ name: 'sticky', clusterIPs: [STICKY.ip], ports: [port(80, POD_PORT)], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } })]
      : []),
    svc({ name: 'empty', clusterIPs: [EMPTY.ip], ports: [port(80, POD_PORT)] }),
    svc({
      name: 'local',
      type: 'NodePort',
      clusterIPs: [LOCAL.ip],
      ports: [port(80, POD_PORT, { nodePort: LOCAL.nodePort })],
      externalTrafficPolicy: 'Local',
    }),
  ];
  const slices = [
    slice('web', (a ? [10, 11, 12] : [10, 11]).map((i) => ep(pod(i), 'node1')), tcp),
    slice('np', [ep(pod(12), 'node1'), a ? ep(pod(13), 'node1') : ep(pod(13), 'node1', { ready: false, serving: true, terminating: true })], tcp),
    ...(a ? [slice('sticky', [10, 11, 12].map((i) => ep(pod(i), 'node1')), tcp)] : []),
    slice('empty', a ? [] : [ep(pod(13), 'node1')], tcp),
    slice('local', [ep(pod(10), 'node1'), ep(pod(14), 'node2')], tcp),
  ];
  return input(services, slices, { node, config: { clusterCIDRs: ['10.244.0.0/16'] } });
}
