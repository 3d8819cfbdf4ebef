// The plan: every Service as a proxy sees it, with defaults applied, sorted and
// stable. It is the only thing backends and the agent read. It is plain JSON and
// versioned; `loadPlan` validates it against this schema before anything uses it.
//
// What belongs here is exactly what changes forwarding on a node. Labels,
// annotations and other metadata that no proxy reads do not.

// zod 3's API (inside the zod package): it costs the agent ~4 MiB less than zod 4, whose
// import loads every locale (src/agent/README.md, "Session 15"). Same for the other schemas.
import { z } from 'zod/v3';
import { InputError, type FieldIssue } from './errors.js';
import { canonicalCIDR, canonicalIP } from './ip.js';
import { contentDigest, PLAN_DIGEST_PATTERN } from './plan-digest.js';
import { compareByNamespaceName, MAX_AFFINITY_TIMEOUT_SECONDS, PLAN_API_VERSION, PLAN_KIND } from './plan-constants.js';

// The constants and helpers without zod live in plan-constants.ts (the render path
// loads only them); re-exported here so this stays the plan's one module for everyone else.
export {
  compareByNamespaceName,
  DEFAULT_AFFINITY_TIMEOUT_SECONDS,
  DEFAULT_NODE_PORT_RANGE,
  MAX_AFFINITY_TIMEOUT_SECONDS,
  PLAN_API_VERSION,
  PLAN_KIND,
  PROXY_NAME,
  SERVICE_PROXY_NAME_LABEL,
  serviceKey,
} from './plan-constants.js';

const ip = z.string().refine((s) => canonicalIP(s) === s, { message: 'must be an IP address in canonical form' });
const cidr = z.string().refine((s) => canonicalCIDR(s) === s, { message: 'must be a CIDR in canonical form' });
const port = z.number().int().min(1).max(65535);
/** A label value on every node's svcplane_plan_info and in logs: short, printable, no spaces. */
export const PlanRevisionSchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, { message: 'must be 1-128 printable ASCII characters without spaces (a commit, a tag)' });

export const ProtocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);
export type Protocol = z.infer<typeof ProtocolSchema>;
export const IPFamilySchema = z.enum(['IPv4', 'IPv6']);

export const ServicePortSchema = z.strictObject({
  /** '' only when the Service has a single port. */
  name: z.string(),
  protocol: ProtocolSchema,
  port,
  /** A port number, or the name of a container port resolved per endpoint from EndpointSlice ports. */
  targetPort: z.union([port, z.string().min(1)]),
  /** Present on NodePort and LoadBalancer Services (unless allocateLoadBalancerNodePorts is false). */
  nodePort: port.optional(),
  appProtocol: z.string().optional(),
});
export type ServicePort = z.infer<typeof ServicePortSchema>;

export const SessionAffinitySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('None') }),
  z.strictObject({
    type: z.literal('ClientIP'),
    timeoutSeconds: z.number().int().min(1).max(MAX_AFFINITY_TIMEOUT_SECONDS),
  }),
]);

export const LoadBalancerIngressSchema = z.strictObject({
  ip,
  /** Proxy: the load balancer delivers to the node with its own address as destination,
   * so kube-proxy does not capture traffic to this IP (KEP-1860). */
  ipMode: z.enum(['VIP', 'Proxy']),
});

export const ServiceTypeSchema = z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
export type ServiceType = z.infer<typeof ServiceTypeSchema>;
export const TrafficPolicySchema = z.enum(['Cluster', 'Local']);
export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;

export const PlanServiceSchema = z.strictObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  type: ServiceTypeSchema,
  /** The value of the service-proxy-name label, when set: which proxy owns the Service. */
  proxyName: z.string().optional(),
  /** clusterIP: None. No virtual IP; no rules. */
  headless: z.boolean(),
  /** Primary family first; empty when headless or ExternalName. */
  clusterIPs: z.array(ip),
  ipFamilies: z.array(IPFamilySchema).max(2),
  ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']),
  ports: z.array(ServicePortSchema),
  /** The label selector; null when the Service has none (endpoints are managed elsewhere). */
  selector: z.record(z.string(), z.string()).nullable(),
  externalIPs: z.array(ip),
  loadBalancerIngress: z.array(LoadBalancerIngressSchema),
  loadBalancerSourceRanges: z.array(cidr),
  loadBalancerClass: z.string().optional(),
  sessionAffinity: SessionAffinitySchema,
  externalTrafficPolicy: TrafficPolicySchema,
  internalTrafficPolicy: TrafficPolicySchema,
  healthCheckNodePort: port.optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  publishNotReadyAddresses: z.boolean(),
  trafficDistribution: z.string().optional(),
  /** The service.kubernetes.io/topology-mode annotation (or the older topology-aware-hints one). */
  topologyMode: z.string().optional(),
  externalName: z.string().optional(),
});
export type PlanService = z.infer<typeof PlanServiceSchema>;

export const PlanSchema = z.strictObject({
  apiVersion: z.literal(PLAN_API_VERSION),
  kind: z.literal(PLAN_KIND),
  /**
   * sha256 of the plan's content (plan-digest.ts), written by serializePlan; checked by
   * loadPlan when present. Optional: a hand-written plan may leave it out.
   */
  digest: z.string().regex(PLAN_DIGEST_PATTERN, { message: 'must be "sha256:" and 64 lowercase hex digits' }).optional(),
  /** Where the plan was synthesised from (a git commit, a tag), when the pipeline said (SvcplaneApp's `revision`). */
  revision: PlanRevisionSchema.optional(),
  /** Service CIDRs the Services were allocated from; an unused address in them is dropped. */
  serviceCIDRs: z.array(cidr),
  nodePortRange: z.strictObject({ min: port, max: port }),
  /** Sorted by namespace, then name. */
  services: z.array(PlanServiceSchema),
});
export type Plan = z.infer<typeof PlanSchema>;

function zodIssues(err: z.ZodError): FieldIssue[] {
  return err.issues.map((i) => ({ field: i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)', message: i.message }));
}

/**
 * Validates a parsed plan document. Refuses an unknown apiVersion with a message
 * that says which versions this build reads, before looking at anything else.
 */
export function loadPlan(doc: unknown, source = 'plan'): Plan {
  const ref = { kind: PLAN_KIND };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InputError(ref, [{ field: '(root)', message: 'must be a JSON object' }], source);
  }
  const version = (doc as Record<string, unknown>).apiVersion;
  if (version !== PLAN_API_VERSION) {
    throw new InputError(
      ref,
      [{ field: 'apiVersion', message: `unsupported plan version ${JSON.stringify(version)}; this svcplane reads ${PLAN_API_VERSION}` }],
      source,
    );
  }
  const r = PlanSchema.safeParse(doc);
  if (!r.success) throw new InputError(ref, zodIssues(r.error), source);
  const plan = r.data;
  for (let i = 1; i < plan.services.length; i++) {
    if (compareByNamespaceName(plan.services[i - 1]!, plan.services[i]!) >= 0) {
      throw new InputError(ref, [{ field: `services[${i}]`, message: 'services must be sorted by namespace/name without duplicates' }], source);
    }
  }
  checkPlanDigest(plan, source);
  return plan;
}

/**
 * The digest names the reviewed plan on every node; a plan edited after synth is not that plan.
 * `plan` is the schema's output already: hashed as it is, not parsed again (10k Services: ~1 s saved).
 * Exported for a reader that validates the Services in pieces (agent/plan-read.ts).
 */
export function checkPlanDigest(plan: Plan, source = 'plan'): void {
  const actual = plan.digest === undefined ? undefined : contentDigest(plan);
  if (actual !== undefined && plan.digest !== actual) {
    throw new InputError({ kind: PLAN_KIND }, [{ field: 'digest', message: `does not match the plan's content (${actual}): the plan was changed after it was written; synthesise it again` }], source);
  }
}

/** The digest of the plan's content (its own `digest` and `revision` left out). */
export function planDigest(plan: Plan): string {
  return contentDigest(PlanSchema.parse(plan));
}

/**
 * The plan as bytes: stable key order (the schema's), two-space indent, trailing
 * newline, with the digest of its content (any digest it carried is recomputed).
 */
export function serializePlan(plan: Plan): string {
  const { apiVersion, kind, digest: _stale, revision, ...rest } = PlanSchema.parse(plan);
  const digest = contentDigest({ apiVersion, kind, revision, ...rest });
  // The schema's key order, digest and revision after kind, without parsing a second time.
  return JSON.stringify({ apiVersion, kind, digest, ...(revision !== undefined ? { revision } : {}), ...rest }, null, 2) + '\n';
}
