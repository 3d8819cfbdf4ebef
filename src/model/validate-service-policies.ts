// How a Service spreads traffic: session affinity, external and internal traffic
// policies, healthCheckNodePort, trafficDistribution. An unknown policy or
// affinity cannot be forwarded (refused); a policy set where it does not apply is
// dropped with a warning in forwarding; a trafficDistribution value newer than
// ours is treated as unset, as an older kube-proxy does.

import { notSupported, type JsonObject } from './json-fields.js';
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS, MAX_AFFINITY_TIMEOUT_SECONDS } from './plan-constants.js';
import { PORT_RANGE_MSG, validPort, type ServiceObjectPort } from './validate-service-ports.js';
import type { ServiceRules } from './validate-service-rules.js';

export const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'] as const;
const AFFINITIES = ['None', 'ClientIP'] as const;
const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;

export interface SessionAffinity {
  readonly sessionAffinity: string;
  readonly affinityTimeoutSeconds: number;
}

export function readSessionAffinity(rules: ServiceRules, spec: JsonObject): SessionAffinity {
  const r = rules.reader;
  const sessionAffinity = r.string(spec.sessionAffinity, 'spec.sessionAffinity') || 'None';
  const sac = r.object(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  let affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (!(AFFINITIES as readonly string[]).includes(sessionAffinity)) {
    rules.refuse('spec.sessionAffinity', notSupported(sessionAffinity, AFFINITIES));
  } else if (sessionAffinity === 'None') {
    if (sac) rules.notApplicable('spec.sessionAffinityConfig', 'must not be set when sessionAffinity is None');
  } else {
    const cip = r.object(sac?.clientIP, 'spec.sessionAffinityConfig.clientIP');
    const field = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
    const t = r.integer(cip?.timeoutSeconds, field);
    if (t !== undefined) {
      if (t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) rules.refuse(field, `must be between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS} seconds`);
      else affinityTimeoutSeconds = t;
    }
  }
  return { sessionAffinity, affinityTimeoutSeconds };
}

export interface TrafficFacts {
  readonly spec: JsonObject;
  readonly isLB: boolean;
  /** NodePort, LoadBalancer, or ClusterIP with externalIPs. */
  readonly externallyAccessible: boolean;
  readonly range: { readonly min: number; readonly max: number };
  readonly ports: readonly ServiceObjectPort[];
}

export interface TrafficPolicies {
  readonly externalTrafficPolicy: string;
  readonly internalTrafficPolicy: string;
  readonly healthCheckNodePort?: number;
  readonly trafficDistribution?: string;
}

export function readTrafficPolicies(rules: ServiceRules, f: TrafficFacts): TrafficPolicies {
  const r = rules.reader;
  const { spec } = f;
  let etpRaw = r.string(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy');
  if (etpRaw) {
    if (!(TRAFFIC_POLICIES as readonly string[]).includes(etpRaw)) {
      // Checked before "does not apply": an unknown value is refused wherever it is.
      if (f.externallyAccessible || rules.purpose === 'forwarding') rules.refuse('spec.externalTrafficPolicy', notSupported(etpRaw, TRAFFIC_POLICIES));
      else rules.refuse('spec.externalTrafficPolicy', 'may only be set for externally-accessible Services (type NodePort or LoadBalancer, or with externalIPs)');
    } else if (!f.externallyAccessible) {
      if (rules.notApplicable('spec.externalTrafficPolicy', 'may only be set for externally-accessible Services (type NodePort or LoadBalancer, or with externalIPs)')) etpRaw = undefined;
    }
  }
  const externalTrafficPolicy = etpRaw || 'Cluster';
  const hcRaw = r.integer(spec.healthCheckNodePort, 'spec.healthCheckNodePort');
  let healthCheckNodePort = hcRaw === 0 ? undefined : hcRaw;
  if (healthCheckNodePort !== undefined) {
    const field = 'spec.healthCheckNodePort';
    if (!(f.isLB && externalTrafficPolicy === 'Local')) {
      if (rules.notApplicable(field, 'may only be set when type is LoadBalancer and externalTrafficPolicy is Local')) healthCheckNodePort = undefined;
    } else if (!validPort(healthCheckNodePort)) {
      rules.refuse(field, PORT_RANGE_MSG);
    } else {
      const outOfRange = healthCheckNodePort < f.range.min || healthCheckNodePort > f.range.max;
      if (outOfRange && rules.purpose === 'authoring') {
        rules.allocation(field, `must be in the node port range ${f.range.min}-${f.range.max}`);
      } else {
        // Two listeners on one port: refused.
        const clash = f.ports.findIndex((p) => p.nodePort === healthCheckNodePort);
        if (clash >= 0) rules.refuse(field, `must differ from every nodePort (spec.ports[${clash}].nodePort is ${healthCheckNodePort})`);
      }
    }
  }
  const itpRaw = r.string(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy');
  if (itpRaw && !(TRAFFIC_POLICIES as readonly string[]).includes(itpRaw)) {
    rules.refuse('spec.internalTrafficPolicy', notSupported(itpRaw, TRAFFIC_POLICIES));
  }
  const internalTrafficPolicy = itpRaw || 'Cluster';
  let trafficDistribution = r.string(spec.trafficDistribution, 'spec.trafficDistribution');
  if (trafficDistribution !== undefined && !(TRAFFIC_DISTRIBUTIONS as readonly string[]).includes(trafficDistribution)) {
    if (rules.notApplicable('spec.trafficDistribution', notSupported(trafficDistribution, TRAFFIC_DISTRIBUTIONS))) trafficDistribution = undefined;
  }
  return {
    externalTrafficPolicy,
    internalTrafficPolicy,
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    ...(trafficDistribution !== undefined ? { trafficDistribution } : {}),
  };
}
