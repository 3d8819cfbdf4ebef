// The ranges Services are allocated from, and where a construct finds them.
//
// SvcplaneApp registers its ranges against its own construct (the tree's root);
// a Service construct looks them up through its root. Under any other App (a
// plain cdk8s App, Testing.app()) the Kubernetes defaults apply. A registry
// instead of an import of SvcplaneApp keeps the constructs free of the app.

import type { IConstruct } from 'constructs';
import { InputError, type FieldIssue } from '../model/errors.js';
import { canonicalCIDR, cidrsOverlap, parseCIDR, type IPFamily } from '../model/ip.js';
import { DEFAULT_NODE_PORT_RANGE } from '../model/plan.js';
import type { PortRange } from './allocation.js';

/** kubeadm's default IPv4 service CIDR, and an IPv6 one of the size the API server allows (/112). */
export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12', 'fd00:10:96::/112'];

export interface AllocationConfig {
  /** Canonical CIDRs, at most one per family, the primary family first. */
  readonly serviceCIDRs: readonly string[];
  readonly nodePortRange: PortRange;
}

export interface AllocationConfigInput {
  readonly serviceCIDRs?: readonly string[];
  readonly nodePortRange?: PortRange;
}

/** Checks and canonicalises the app's ranges; an InputError naming the field when they are unusable. */
export function resolveAllocationConfig(input: AllocationConfigInput = {}, source?: string): AllocationConfig {
  const issues: FieldIssue[] = [];
  const given = input.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS;
  if (given.length === 0 || given.length > 2) {
    issues.push({ field: 'serviceCIDRs', message: `must hold one or two CIDRs (one per IP family), not ${given.length}` });
  }
  const serviceCIDRs: string[] = [];
  const seen = new Map<IPFamily, string>();
  given.forEach((raw, i) => {
    const c = parseCIDR(raw);
    if (!c) {
      issues.push({ field: `serviceCIDRs[${i}]`, message: `${JSON.stringify(raw)} is not a CIDR` });
      return;
    }
    const other = seen.get(c.family);
    if (other !== undefined) {
      issues.push({ field: `serviceCIDRs[${i}]`, message: `a second ${c.family} CIDR (${raw}; ${other} is already given): give at most one per family` });
      return;
    }
    seen.set(c.family, raw);
    serviceCIDRs.push(canonicalCIDR(raw)!);
  });
  for (let i = 0; i < serviceCIDRs.length; i++) {
    for (let j = i + 1; j < serviceCIDRs.length; j++) {
      if (cidrsOverlap(parseCIDR(serviceCIDRs[i]!)!, parseCIDR(serviceCIDRs[j]!)!)) {
        issues.push({ field: `serviceCIDRs[${j}]`, message: `overlaps ${serviceCIDRs[i]}` });
      }
    }
  }
  const range = input.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
  const okPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!okPort(range.min) || !okPort(range.max) || range.min > range.max) {
    issues.push({ field: 'nodePortRange', message: `must be two ports min <= max in 1-65535, not ${range.min}-${range.max}` });
  }
  if (issues.length > 0) throw new InputError({ kind: 'SvcplaneApp' }, issues, source);
  return { serviceCIDRs, nodePortRange: { min: range.min, max: range.max } };
}

const registry = new WeakMap<IConstruct, AllocationConfig>();

/** Called by SvcplaneApp on itself. */
export function registerAllocationConfig(root: IConstruct, config: AllocationConfig): void {
  registry.set(root, config);
}

let defaults: AllocationConfig | undefined;

/** The ranges that apply to `scope`: its app's, or the defaults. */
export function allocationConfigOf(scope: IConstruct): AllocationConfig {
  const found = registry.get(scope.node.root);
  if (found) return found;
  defaults ??= resolveAllocationConfig();
  return defaults;
}

/** The CIDR of `family` in the config, if the app has one. */
export function cidrForFamily(config: AllocationConfig, family: IPFamily): string | undefined {
  return config.serviceCIDRs.find((c) => parseCIDR(c)!.family === family);
}
