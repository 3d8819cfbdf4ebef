// collectInputs' Services: those of plans as they are, those of manifests validated
// for the purpose at hand; then no two of them may share a name, a cluster IP or a
// node port (they would fight over the same packets).

import { inputError, type ObjectRef } from '../model/errors.js';
import type { PlanService } from '../model/plan.js';
import { PROXY_NAME, serviceKey } from '../model/plan-constants.js';
import type { ServiceValidationOptions } from '../model/validate-service.js';
import type { InputDocument } from './input-kinds.js';
import type { InputProblems } from './input-problems.js';
import { readServiceDocument, take } from './input-reads.js';

export interface CollectedService {
  readonly svc: PlanService;
  readonly source: string;
  readonly fromPlan: boolean;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every Service, by namespace/name: the plans' first, then the manifests'. */
export function collectServices(
  plans: ReadonlyArray<{ plan: { services: readonly PlanService[] }; source: string }>,
  serviceDocs: readonly InputDocument[],
  validation: ServiceValidationOptions,
  problems: InputProblems,
): Map<string, CollectedService> {
  const services = new Map<string, CollectedService>();
  const clusterIPOwner = new Map<string, string>();
  const nodePortOwner = new Map<string, string>();
  const addService = (svc: PlanService, source: string, fromPlan: boolean): void => {
    const key = serviceKey(svc);
    const ref: ObjectRef = { kind: 'Service', namespace: svc.namespace, name: svc.name };
    const prev = services.get(key);
    if (prev) {
      // A plan and the manifests it was made from describe the same Service twice.
      if ((prev.fromPlan || fromPlan) && sameJson(prev.svc, svc)) return;
      problems.bad(inputError(ref, 'metadata.name', `duplicate Service: also defined in ${prev.source}`, source));
      return;
    }
    // Two Services on one address or one node port would fight over the same packets.
    for (const ip of svc.clusterIPs) {
      const other = clusterIPOwner.get(ip);
      if (other) return problems.bad(inputError(ref, 'spec.clusterIPs', `${ip} is also the cluster IP of ${other}`, source));
    }
    const nodePorts = svc.ports.filter((p) => p.nodePort !== undefined).map((p) => `${p.nodePort}/${p.protocol}`);
    if (svc.healthCheckNodePort !== undefined) nodePorts.push(`${svc.healthCheckNodePort}/TCP`);
    for (const np of nodePorts) {
      const other = nodePortOwner.get(np);
      if (other) return problems.bad(inputError(ref, 'spec.ports', `node port ${np} is also used by ${other}`, source));
    }
    const label = `Service ${key} (${source})`;
    for (const ip of svc.clusterIPs) clusterIPOwner.set(ip, label);
    for (const np of nodePorts) nodePortOwner.set(np, label);
    services.set(key, { svc, source, fromPlan });
    if (!fromPlan) warnAboutUnallocated(svc, source, problems.warnings);
  };
  for (const { plan, source } of plans) for (const s of plan.services) addService(s, source, true);
  const purpose = validation.purpose ?? 'authoring';
  for (const d of serviceDocs) {
    const errorsBefore = problems.errors.length;
    const read = d.read?.kind === 'Service' ? d.read : readServiceDocument(d.object, d.source, { ...validation, purpose });
    // Only forwarding reads a Service before the other inputs are known (load.ts).
    if (read.purpose !== purpose) throw new Error(`internal: ${d.source} was validated for ${read.purpose}, not ${purpose}`);
    const svc = problems.attempt(() => {
      if (read.ignoredWarning !== undefined) problems.warnings.push(read.ignoredWarning);
      return take(read.result);
    });
    if (svc) addService(svc, d.source, false);
    if (problems.errors.length > errorsBefore) problems.skipped.add(read.serviceKey);
  }
  return services;
}

/**
 * A manifest that leaves an address or node port to the API server's allocator
 * renders without it; say so, for Services a proxy could own.
 */
function warnAboutUnallocated(svc: PlanService, source: string, warnings: string[]): void {
  if (svc.proxyName !== undefined && svc.proxyName !== PROXY_NAME) return;
  if (svc.headless || svc.type === 'ExternalName') return;
  const who = `${source}: Service ${serviceKey(svc)}`;
  if (svc.clusterIPs.length === 0) {
    warnings.push(`${who} has no clusterIP; the API server would allocate one, so no rules match its cluster IP`);
  }
  const wantsNodePorts = svc.type === 'NodePort' || (svc.type === 'LoadBalancer' && svc.allocateLoadBalancerNodePorts !== false);
  if (wantsNodePorts) {
    const missing = svc.ports.filter((p) => p.nodePort === undefined).map((p) => `${p.port}/${p.protocol}`);
    if (missing.length > 0) warnings.push(`${who}: port ${missing.join(', ')} has no nodePort; the API server would allocate one, so no node port rule is rendered`);
  }
}
