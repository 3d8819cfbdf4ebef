// SvcplaneApp: a cdk8s App that, besides the manifests, writes the plan (as a
// ConfigMap for the node agents, and as dist/rules/plan.json) and every
// registered backend's precompiled ruleset (dist/rules/<backend.rulesFile>).
//
// Synth order: check every construct and every Service manifest (API rules,
// collisions) and fail with all problems at once; build the plan; write the
// manifests (super.synth); write rules/. Nothing is written when a check fails.

import { ApiObject, App, Chart, Lazy, YamlOutputType, type AppProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { IConstruct } from 'constructs';
import { registeredBackends } from '../backends/registry.js';
import { endpointSliceAddressType, endpointSliceToInfo } from '../manifests/endpointslice.js';
import { serviceRef, serviceToPlan } from '../manifests/service.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import type { JsonObject } from '../model/json-fields.js';
import { compareByNamespaceName, PLAN_API_VERSION, PLAN_KIND, PlanRevisionSchema, serializePlan, type Plan } from '../model/plan.js';
import { validateService } from '../model/validate-service.js';
import type { PortRange } from './allocation.js';
import { registerAllocationConfig, resolveAllocationConfig, type AllocationConfig } from './allocation-config.js';
import { collisionIssues, type ServiceEntry, type SynthIssue } from './collisions.js';
import { renderRulesFiles, writeRulesDir } from './rules-writer.js';
import { ServiceBase } from './service-base.js';
import { SvcplaneSynthError, synthOrExit } from './synth-error.js';

export const DEFAULT_PLAN_NAMESPACE = 'kube-system';
export const DEFAULT_PLAN_CONFIG_MAP_NAME = 'svcplane-plan';
/** The ConfigMap key holding the plan (the same bytes as rules/plan.json). */
export const PLAN_CONFIG_MAP_KEY = 'plan.json';

export interface SvcplaneAppProps extends AppProps {
  /**
   * The cluster's service CIDRs, one per IP family, primary first (the API
   * server's --service-cluster-ip-range). ClusterIPs are allocated from them.
   * @default ['10.96.0.0/12', 'fd00:10:96::/112']
   */
  readonly serviceCIDRs?: readonly string[];
  /** The API server's --service-node-port-range. @default 30000-32767 */
  readonly nodePortRange?: PortRange;
  /** Namespace of the plan ConfigMap. @default 'kube-system' */
  readonly planNamespace?: string;
  /** Name of the plan ConfigMap. @default 'svcplane-plan' */
  readonly planConfigMapName?: string;
  /**
   * Where this synth comes from (a git commit, a tag), written into the plan as
   * `revision`; every node's agent exports it (svcplane_plan_info) and logs it.
   * Given by the pipeline, never read from git here: a dist/ committed beside its
   * source cannot hold the commit it is part of (README, "Which plan runs where").
   * @default the SVCPLANE_REVISION environment variable; none when unset or empty
   */
  readonly revision?: string;
}

/** The environment variable a pipeline sets to stamp the plan with its revision. */
export const REVISION_ENV = 'SVCPLANE_REVISION';

/** A Service manifest of the app and the construct that owns it. */
interface ServiceObject {
  readonly path: string;
  readonly apiObject: ApiObject;
  readonly owner?: ServiceBase;
}

export class SvcplaneApp extends App {
  readonly allocationConfig: AllocationConfig;
  /** The chart holding the plan ConfigMap (its file is `<chart id>.k8s.yaml`). */
  readonly planChart: Chart;
  readonly planConfigMap: k8s.KubeConfigMap;
  /** The plan's `revision`, if any (checked by the plan schema when the plan is built). */
  readonly revision: string | undefined;

  constructor(props: SvcplaneAppProps = {}) {
    // One file per chart, named after the chart: stable names for GitOps diffs.
    super({ yamlOutputType: YamlOutputType.FILE_PER_CHART, ...props });
    this.allocationConfig = resolveAllocationConfig(props, 'SvcplaneApp');
    registerAllocationConfig(this, this.allocationConfig);
    this.revision = (props.revision ?? process.env[REVISION_ENV]) || undefined;
    const namespace = props.planNamespace ?? DEFAULT_PLAN_NAMESPACE;
    this.planChart = new Chart(this, 'svcplane-plan', { namespace });
    this.planConfigMap = new k8s.KubeConfigMap(this.planChart, 'ConfigMap', {
      metadata: {
        name: props.planConfigMapName ?? DEFAULT_PLAN_CONFIG_MAP_NAME,
        namespace,
        labels: { 'app.kubernetes.io/name': 'svcplane', 'app.kubernetes.io/component': 'plan' },
      },
      // Computed when the ConfigMap is written, so it sees every Service of the app.
      data: Lazy.any({ produce: () => ({ [PLAN_CONFIG_MAP_KEY]: serializePlan(this.plan()) }) }),
    });
  }

  override synth(): void {
    this.check();
    const plan = this.plan();
    super.synth();
    writeRulesDir(this.outdir, renderRulesFiles(plan, this.endpointSlices(), registeredBackends()));
  }

  /**
   * synth() for an app's entry point: a failed check prints its problems, one a line,
   * with no stack, and the process exits 2 (bad input) when it ends.
   */
  synthOrExit(): void {
    synthOrExit(() => this.synth());
  }

  /**
   * Every problem that would fail synth: construct validations (which include
   * the API server's Service rules), the same rules for Services made by other
   * constructs, and collisions between Services. Throws SvcplaneSynthError.
   */
  check(): void {
    const problems: SynthIssue[] = [];
    if (this.revision !== undefined) {
      const r = PlanRevisionSchema.safeParse(this.revision);
      if (!r.success) problems.push({ path: this.node.path || 'SvcplaneApp', field: `revision (or ${REVISION_ENV})`, message: `${JSON.stringify(this.revision)} ${r.error.issues[0]!.message}` });
    }
    for (const c of this.node.findAll()) {
      for (const message of c.node.validate()) problems.push({ path: c.node.path, field: '', message });
    }
    const entries: ServiceEntry[] = [];
    for (const s of this.serviceObjects()) {
      let manifest: JsonObject;
      try {
        manifest = s.apiObject.toJson() as JsonObject;
      } catch (e) {
        problems.push({ path: s.path, field: '', message: `cannot be synthesised: ${(e as Error).message}` });
        continue;
      }
      if (!s.owner) {
        // Our constructs validate themselves; a Service from elsewhere (cdk8s-plus, Include) gets the same rules here.
        const ref = serviceRef(manifest);
        for (const i of validateService(manifest, this.validationOptions())) {
          problems.push({ path: s.path, object: `Service ${ref.namespace}/${ref.name ?? '(no name)'}`, ...i });
        }
      }
      entries.push({ path: s.path, manifest, allocatedFields: s.owner?.allocatedFields ?? new Set() });
    }
    problems.push(...collisionIssues(entries));
    for (const o of this.endpointSliceObjects()) {
      try {
        endpointSliceToInfo(o.toJson(), o.node.path);
      } catch (e) {
        problems.push({ path: o.node.path, field: '', message: (e as Error).message });
      }
    }
    if (problems.length > 0) throw new SvcplaneSynthError(problems);
  }

  /** The plan of every Service in the app, sorted by namespace/name. */
  plan(): Plan {
    const services = this.serviceObjects()
      .map((s) => serviceToPlan(s.apiObject.toJson(), s.path, this.validationOptions()))
      .sort(compareByNamespaceName);
    return {
      apiVersion: PLAN_API_VERSION,
      kind: PLAN_KIND,
      ...(this.revision !== undefined ? { revision: this.revision } : {}),
      serviceCIDRs: [...this.allocationConfig.serviceCIDRs],
      nodePortRange: { ...this.allocationConfig.nodePortRange },
      services,
    };
  }

  /** Every EndpointSlice manifest of the app (static endpoints), as a proxy reads them. */
  endpointSlices(): EndpointSliceInfo[] {
    return this.endpointSliceObjects()
      .map((o) => ({ path: o.node.path, manifest: o.toJson() as unknown }))
      // FQDN slices are valid but carry nothing a proxy uses.
      .filter((s) => endpointSliceAddressType(s.manifest) !== 'FQDN')
      .map((s) => endpointSliceToInfo(s.manifest, s.path))
      .sort(compareByNamespaceName);
  }

  private endpointSliceObjects(): ApiObject[] {
    return this.node
      .findAll()
      .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.kind === 'EndpointSlice' && c.apiVersion === 'discovery.k8s.io/v1');
  }

  private validationOptions(): { nodePortRange: PortRange; serviceCIDRs: readonly string[] } {
    return { nodePortRange: this.allocationConfig.nodePortRange, serviceCIDRs: this.allocationConfig.serviceCIDRs };
  }

  private serviceObjects(): ServiceObject[] {
    const out: ServiceObject[] = [];
    for (const c of this.node.findAll()) {
      if (!ApiObject.isApiObject(c) || c.kind !== 'Service' || c.apiVersion !== 'v1') continue;
      const owner = ownerOf(c);
      out.push({ path: (owner ?? c).node.path, apiObject: c, ...(owner ? { owner } : {}) });
    }
    return out;
  }
}

/** The svcplane construct whose escape hatch `o` is, if any. */
function ownerOf(o: IConstruct): ServiceBase | undefined {
  const scope = o.node.scope;
  return scope instanceof ServiceBase && scope.apiObject === o ? scope : undefined;
}
