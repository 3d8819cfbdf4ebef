// What one Service gets allocated: its ClusterIPs (one per IP family it asks for)
// and the NodePorts it leaves unset. Pure; depends only on this Service and the
// app's ranges, never on other Services (see allocation.ts for why).

import type { FieldIssue } from '../model/errors.js';
import { ipFamilyOf, type IPFamily } from '../model/ip.js';
import { allocateNodePort, allocateServiceIP } from './allocation.js';
import { cidrForFamily, type AllocationConfig } from './allocation-config.js';

export interface AllocationRequest {
  readonly namespace: string;
  readonly name: string;
  /** Whether the Service has a virtual IP at all (not headless, not ExternalName). */
  readonly needsClusterIP: boolean;
  readonly clusterIPs: readonly string[];
  readonly ipFamilies?: readonly IPFamily[];
  readonly ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  /** The ports, in order; nodePort set where the user gave one. */
  readonly ports: readonly { readonly port: number; readonly nodePort?: number }[];
  /** NodePort and LoadBalancer (unless allocateLoadBalancerNodePorts is false). */
  readonly needsNodePorts: boolean;
  /** LoadBalancer with externalTrafficPolicy Local. */
  readonly needsHealthCheckNodePort: boolean;
  readonly healthCheckNodePort?: number;
}

export interface AllocationResult {
  /** The Service's ClusterIPs, given and allocated, primary first; [] when it has none. */
  readonly clusterIPs: readonly string[];
  /** Indexes into clusterIPs of the values svcplane picked. */
  readonly allocatedClusterIPs: ReadonlySet<number>;
  /** Per port: its NodePort (given or picked), or undefined. */
  readonly nodePorts: readonly (number | undefined)[];
  /** Indexes of the ports whose NodePort svcplane picked. */
  readonly allocatedNodePorts: ReadonlySet<number>;
  readonly healthCheckNodePort?: number;
  readonly allocatedHealthCheckNodePort: boolean;
  /** Why something could not be allocated (e.g. no CIDR for a requested family). */
  readonly issues: readonly FieldIssue[];
}

function otherFamily(f: IPFamily): IPFamily {
  return f === 'IPv4' ? 'IPv6' : 'IPv4';
}

/**
 * The families a Service ends up with, the way the API server decides: given
 * ClusterIPs and ipFamilies fix the order; a dual-stack policy adds the other
 * family; otherwise the cluster's primary family.
 */
function wantedFamilies(req: AllocationRequest, config: AllocationConfig): IPFamily[] {
  const primary = ipFamilyOf(config.serviceCIDRs[0]!.split('/')[0]!)!;
  const dual = req.ipFamilyPolicy === 'PreferDualStack' || req.ipFamilyPolicy === 'RequireDualStack';
  let families: IPFamily[];
  if (req.ipFamilies && req.ipFamilies.length > 0) families = [...req.ipFamilies];
  else if (req.clusterIPs.length > 0) families = req.clusterIPs.map((ip) => ipFamilyOf(ip) ?? primary);
  else families = [primary];
  if (dual && families.length === 1) {
    const second = otherFamily(families[0]!);
    // PreferDualStack takes the second family only when the cluster has it.
    if (req.ipFamilyPolicy === 'RequireDualStack' || cidrForFamily(config, second)) families.push(second);
  }
  return families;
}

export function allocateForService(req: AllocationRequest, config: AllocationConfig): AllocationResult {
  const key = `${req.namespace}/${req.name}`;
  const issues: FieldIssue[] = [];
  const clusterIPs: string[] = [];
  const allocatedClusterIPs = new Set<number>();

  if (req.needsClusterIP) {
    const families = wantedFamilies(req, config);
    families.forEach((family, i) => {
      const given = req.clusterIPs[i];
      if (given !== undefined) {
        clusterIPs.push(given);
        return;
      }
      const cidr = cidrForFamily(config, family);
      const ip = cidr === undefined ? undefined : allocateServiceIP(cidr, key);
      if (ip === undefined) {
        issues.push({
          field: req.ipFamilies?.length ? `spec.ipFamilies[${i}]` : 'spec.ipFamilyPolicy',
          message: cidr === undefined
            ? `needs an ${family} ClusterIP but the app has no ${family} service CIDR (serviceCIDRs: ${config.serviceCIDRs.join(', ')})`
            : `the service CIDR ${cidr} has no address to allocate`,
        });
        return;
      }
      allocatedClusterIPs.add(clusterIPs.length);
      clusterIPs.push(ip);
    });
    // ClusterIPs given beyond the families wanted are kept (validation reports them).
    for (let i = families.length; i < req.clusterIPs.length; i++) clusterIPs.push(req.clusterIPs[i]!);
  }

  // Ports with the same port number share one NodePort across protocols (DNS on
  // 53/TCP and 53/UDP), as the API server does; the NodePort allocator is
  // protocol-agnostic, so a picked value avoids every NodePort of this Service.
  const nodePorts: (number | undefined)[] = req.ports.map((p) => p.nodePort);
  const allocatedNodePorts = new Set<number>();
  const taken = new Set<number>(req.ports.flatMap((p) => (p.nodePort === undefined ? [] : [p.nodePort])));
  if (req.healthCheckNodePort !== undefined) taken.add(req.healthCheckNodePort);
  const nodePortFor = (portNumber: number): number | undefined =>
    req.ports.map((p, i) => (p.port === portNumber ? nodePorts[i] : undefined)).find((n) => n !== undefined);

  if (req.needsNodePorts) {
    req.ports.forEach((p, i) => {
      if (nodePorts[i] !== undefined) return;
      const shared = nodePortFor(p.port);
      if (shared !== undefined) {
        nodePorts[i] = shared;
        allocatedNodePorts.add(i);
        return;
      }
      const picked = allocateNodePort(config.nodePortRange, `${key}#port:${p.port}`, taken);
      if (picked === undefined) {
        issues.push({ field: `spec.ports[${i}].nodePort`, message: `no free NodePort left in ${config.nodePortRange.min}-${config.nodePortRange.max}` });
        return;
      }
      nodePorts[i] = picked;
      allocatedNodePorts.add(i);
      taken.add(picked);
    });
  }

  let healthCheckNodePort = req.healthCheckNodePort;
  let allocatedHealthCheckNodePort = false;
  if (req.needsHealthCheckNodePort && healthCheckNodePort === undefined) {
    healthCheckNodePort = allocateNodePort(config.nodePortRange, `${key}#healthCheckNodePort`, taken);
    if (healthCheckNodePort === undefined) {
      issues.push({ field: 'spec.healthCheckNodePort', message: `no free NodePort left in ${config.nodePortRange.min}-${config.nodePortRange.max}` });
    } else {
      allocatedHealthCheckNodePort = true;
    }
  }

  return {
    clusterIPs,
    allocatedClusterIPs,
    nodePorts,
    allocatedNodePorts,
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    allocatedHealthCheckNodePort,
    issues,
  };
}
