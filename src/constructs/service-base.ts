// What every svcplane Service construct shares: the KubeService it writes (with
// the service-proxy-name label, allocated addresses and defaults spelled out),
// the EndpointSlices of static endpoints, and the checks that fail synth with
// the construct's path before anything reaches a cluster.
//
// The subclasses (one per Service type) only decide which props exist; a prop
// that means nothing for a type is not in that type's props interface.

import { Lazy, type ApiObjectMetadata, type Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { SERVICE_NAME_LABEL } from '../manifests/endpointslice.js';
import { LOAD_BALANCER_INGRESS_ANNOTATION } from '../manifests/service.js';
import type { FieldIssue } from '../model/errors.js';
import { parseCIDR, parseIP } from '../model/ip.js';
import { MAX_AFFINITY_TIMEOUT_SECONDS, SERVICE_PROXY_NAME_LABEL } from '../model/plan.js';
import { validateService } from '../model/validate-service.js';
import { allocationConfigOf, type AllocationConfig } from './allocation-config.js';
import {
  ServiceProxy,
  SessionAffinity,
  TrafficPolicy,
  type IpFamily,
  type IpFamilyPolicy,
  type TrafficDistribution,
} from './enums.js';
import { toKubePort, type NodePortServicePortOptions } from './ports.js';
import { resolveSelector, type ServiceSelector } from './selector.js';
import { allocateForService, type AllocationResult } from './service-allocation.js';
import {
  ENDPOINT_SLICE_MANAGED_BY_LABEL,
  ENDPOINT_SLICE_MANAGER,
  HEADLESS_LABEL,
  staticEndpointIssues,
  staticSlices,
  type StaticEndpoint,
} from './static-endpoints.js';

/** Props every Service construct takes. */
export interface ServiceBaseProps {
  /** Name, namespace, labels and annotations of the Service (passed through). */
  readonly metadata?: ApiObjectMetadata;
  /**
   * Which proxy programs this Service. The default labels it
   * `service.kubernetes.io/service-proxy-name: svcplane`, so kube-proxy skips
   * it and svcplane owns it; `ServiceProxy.KUBE_PROXY` omits the label.
   * @default ServiceProxy.SVCPLANE
   */
  readonly proxy?: ServiceProxy;
}

/** Props of Services that send to endpoints (all types but ExternalName). */
export interface EndpointServiceProps extends ServiceBaseProps {
  /** The pods to send to: labels, or a cdk8s-plus workload (Deployment, StatefulSet, Pod...). */
  readonly selector?: ServiceSelector;
  /**
   * Fixed endpoints for a Service without a selector (e.g. a database outside
   * the cluster). The construct writes them as EndpointSlices, one per family.
   */
  readonly endpoints?: readonly StaticEndpoint[];
  /** Publish endpoints that are not ready (e.g. for peer discovery). @default false */
  readonly publishNotReadyAddresses?: boolean;
  /** The IP families, primary first. @default - the app's primary family */
  readonly ipFamilies?: readonly IpFamily[];
  /** @default IpFamilyPolicy.SINGLE_STACK (as the API server) */
  readonly ipFamilyPolicy?: IpFamilyPolicy;
}

/** Props of Services with a virtual IP (ClusterIP, NodePort, LoadBalancer). */
export interface VirtualIPServiceProps extends EndpointServiceProps {
  /**
   * The ClusterIP (the primary family's).
   * @default - picked deterministically from the app's service CIDR
   */
  readonly clusterIP?: string;
  /** The ClusterIPs of a dual-stack Service, primary first (its first entry is `clusterIP`). */
  readonly clusterIPs?: readonly string[];
  /** Further addresses, outside the cluster's control, that nodes accept this Service's traffic on. */
  readonly externalIPs?: readonly string[];
  /** @default SessionAffinity.NONE */
  readonly sessionAffinity?: SessionAffinity;
  /**
   * How long a ClientIP affinity lasts (whole seconds, 1s to 1 day).
   * @default - 3 hours (the API's default), when sessionAffinity is CLIENT_IP
   */
  readonly sessionAffinityTimeout?: Duration;
  /** Which endpoints traffic from inside the cluster may reach. @default TrafficPolicy.CLUSTER */
  readonly internalTrafficPolicy?: TrafficPolicy;
  /** A preference for topologically close endpoints. */
  readonly trafficDistribution?: TrafficDistribution;
}

/** The union of every type's props, as the base reads them. */
export interface AnyServiceProps extends VirtualIPServiceProps {
  readonly externalTrafficPolicy?: TrafficPolicy;
  readonly healthCheckNodePort?: number;
  readonly loadBalancerSourceRanges?: readonly string[];
  readonly loadBalancerClass?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly loadBalancerIngress?: readonly string[];
  readonly externalName?: string;
}

/** What a subclass hands the base. */
export interface ServiceDefinition {
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  readonly headless?: boolean;
  readonly ports: readonly NodePortServicePortOptions[];
  readonly props: AnyServiceProps;
}

export abstract class ServiceBase extends Construct {
  /** Escape hatch: the underlying KubeService (e.g. `apiObject.addJsonPatch(...)`). */
  readonly apiObject: k8s.KubeService;
  /** The EndpointSlices written for static endpoints (empty without them). */
  readonly endpointSlices: readonly k8s.KubeEndpointSlice[];
  /** metadata.name */
  readonly name: string;
  /** metadata.namespace, `default` when none is set. */
  readonly namespace: string;
  readonly serviceType: ServiceDefinition['type'];
  readonly proxy: ServiceProxy;
  /** The ClusterIPs written into the manifest (given or allocated), primary first; [] when none. */
  readonly clusterIPs: readonly string[];
  /** Manifest fields (e.g. `spec.ports[0].nodePort`) whose values svcplane allocated. */
  readonly allocatedFields: ReadonlySet<string>;

  private readonly definition: ServiceDefinition;
  private readonly config: AllocationConfig;
  private readonly allocation: AllocationResult;
  private readonly propIssues: FieldIssue[] = [];

  protected constructor(scope: Construct, id: string, def: ServiceDefinition) {
    super(scope, id);
    const props = def.props;
    this.definition = def;
    this.serviceType = def.type;
    this.proxy = props.proxy ?? ServiceProxy.SVCPLANE;
    this.config = allocationConfigOf(this);

    const userLabels = props.metadata?.labels ?? {};
    if (SERVICE_PROXY_NAME_LABEL in userLabels) {
      this.propIssues.push({
        field: `metadata.labels[${SERVICE_PROXY_NAME_LABEL}]`,
        message: 'is set by the construct: choose the proxy with the `proxy` prop (ServiceProxy.SVCPLANE or ServiceProxy.KUBE_PROXY)',
      });
    }
    const labels: Record<string, string> = { ...userLabels };
    if (this.proxy === ServiceProxy.SVCPLANE) labels[SERVICE_PROXY_NAME_LABEL] = ServiceProxy.SVCPLANE;
    const annotations: Record<string, string> = { ...(props.metadata?.annotations ?? {}) };
    if (props.loadBalancerIngress && props.loadBalancerIngress.length > 0) {
      annotations[LOAD_BALANCER_INGRESS_ANNOTATION] = props.loadBalancerIngress.join(',');
    }

    this.apiObject = new k8s.KubeService(this, 'Resource', {
      metadata: {
        ...props.metadata,
        labels,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: Lazy.any({ produce: () => this.renderSpec() }),
    });
    this.name = this.apiObject.name;
    this.namespace = this.apiObject.metadata.namespace ?? 'default';

    this.checkProps();
    this.allocation = allocateForService(
      {
        namespace: this.namespace,
        name: this.name,
        needsClusterIP: def.type !== 'ExternalName' && !def.headless,
        clusterIPs: props.clusterIPs ?? (props.clusterIP !== undefined ? [props.clusterIP] : []),
        ...(props.ipFamilies ? { ipFamilies: props.ipFamilies.map((f) => f as 'IPv4' | 'IPv6') } : {}),
        ...(props.ipFamilyPolicy ? { ipFamilyPolicy: props.ipFamilyPolicy } : {}),
        ports: def.ports,
        needsNodePorts: def.type === 'NodePort' || (def.type === 'LoadBalancer' && props.allocateLoadBalancerNodePorts !== false),
        needsHealthCheckNodePort: def.type === 'LoadBalancer' && props.externalTrafficPolicy === TrafficPolicy.LOCAL,
        ...(props.healthCheckNodePort !== undefined ? { healthCheckNodePort: props.healthCheckNodePort } : {}),
      },
      this.config,
    );
    this.clusterIPs = this.allocation.clusterIPs;
    this.allocatedFields = allocatedFieldNames(this.allocation);

    this.endpointSlices = this.createEndpointSlices(labels);
    this.node.addValidation({ validate: () => this.validationMessages() });
  }

  /** The primary ClusterIP, when the Service has one. */
  get clusterIP(): string | undefined {
    return this.clusterIPs[0];
  }

  /** Problems a construct can see in its props, before the manifest exists. */
  private checkProps(): void {
    const { props, ports } = this.definition;
    const add = (field: string, message: string): void => {
      this.propIssues.push({ field, message });
    };
    if (props.selector !== undefined && props.endpoints !== undefined) {
      add('endpoints', 'cannot be combined with a selector: the endpointslice controller writes the endpoints of a Service with a selector');
    }
    if (props.clusterIP !== undefined && props.clusterIPs !== undefined && props.clusterIPs[0] !== props.clusterIP) {
      add('spec.clusterIPs', `its first entry must be clusterIP ${props.clusterIP}`);
    }
    // The API server gives the first address of the service CIDR to the `kubernetes` Service.
    const given = props.clusterIPs ?? (props.clusterIP !== undefined ? [props.clusterIP] : []);
    given.forEach((ip, i) => {
      const a = parseIP(ip);
      if (!a) return;
      for (const cidr of this.config.serviceCIDRs) {
        const c = parseCIDR(cidr)!;
        if (c.family === a.family && a.value === c.network + 1n) {
          add(props.clusterIPs ? `spec.clusterIPs[${i}]` : 'spec.clusterIP', `${ip} is the first address of ${cidr}, reserved for the kubernetes Service`);
        }
      }
    });
    if (props.sessionAffinityTimeout !== undefined) {
      if (props.sessionAffinity !== SessionAffinity.CLIENT_IP) {
        add('spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'sessionAffinityTimeout needs sessionAffinity CLIENT_IP');
      }
      const seconds = affinitySeconds(props.sessionAffinityTimeout);
      if (seconds === undefined || seconds < 1 || seconds > MAX_AFFINITY_TIMEOUT_SECONDS) {
        add('spec.sessionAffinityConfig.clientIP.timeoutSeconds', `sessionAffinityTimeout must be whole seconds from 1s to ${MAX_AFFINITY_TIMEOUT_SECONDS}s (1 day), not ${props.sessionAffinityTimeout.toHumanString()}`);
      }
    }
    if (props.healthCheckNodePort !== undefined && props.externalTrafficPolicy !== TrafficPolicy.LOCAL) {
      add('spec.healthCheckNodePort', 'needs externalTrafficPolicy LOCAL: only Local Services answer load-balancer health checks');
    }
    if (props.endpoints !== undefined) {
      this.propIssues.push(...staticEndpointIssues(props.endpoints, ports));
    }
  }

  private renderSpec(): k8s.ServiceSpec {
    const { type, headless, ports, props } = this.definition;
    const a = this.allocation;
    const selector = props.selector === undefined ? undefined : resolveSelector(props.selector, this.apiObject.metadata.namespace).labels;
    const timeout = props.sessionAffinityTimeout === undefined ? undefined : affinitySeconds(props.sessionAffinityTimeout);
    const list = <T>(v: readonly T[] | undefined): T[] | undefined => (v && v.length > 0 ? [...v] : undefined);
    const spec: k8s.ServiceSpec = {
      type,
      ...(headless ? { clusterIp: 'None' } : {}),
      ...(a.clusterIPs.length > 0 ? { clusterIp: a.clusterIPs[0], clusterIPs: [...a.clusterIPs] } : {}),
      ipFamilies: list(props.ipFamilies),
      ipFamilyPolicy: props.ipFamilyPolicy,
      ports: ports.length > 0 ? ports.map((p, i) => toKubePort(p, a.nodePorts[i])) : undefined,
      selector: selector && Object.keys(selector).length > 0 ? selector : undefined,
      externalIPs: list(props.externalIPs),
      externalName: props.externalName,
      sessionAffinity: props.sessionAffinity,
      sessionAffinityConfig:
        props.sessionAffinity === SessionAffinity.CLIENT_IP && timeout !== undefined ? { clientIp: { timeoutSeconds: timeout } } : undefined,
      externalTrafficPolicy: props.externalTrafficPolicy,
      internalTrafficPolicy: props.internalTrafficPolicy,
      healthCheckNodePort: a.healthCheckNodePort,
      loadBalancerSourceRanges: list(props.loadBalancerSourceRanges),
      loadBalancerClass: props.loadBalancerClass,
      allocateLoadBalancerNodePorts: props.allocateLoadBalancerNodePorts,
      publishNotReadyAddresses: props.publishNotReadyAddresses,
      trafficDistribution: props.trafficDistribution,
    };
    return spec;
  }

  private createEndpointSlices(serviceLabels: Readonly<Record<string, string>>): k8s.KubeEndpointSlice[] {
    const { props, ports, headless } = this.definition;
    if (!props.endpoints || props.endpoints.length === 0) return [];
    // The labels the endpointslice controller would set, so that proxies (which
    // filter slices by the same labels as Services) treat them alike.
    const labels: Record<string, string> = {
      [SERVICE_NAME_LABEL]: this.name,
      [ENDPOINT_SLICE_MANAGED_BY_LABEL]: ENDPOINT_SLICE_MANAGER,
    };
    const proxyName = serviceLabels[SERVICE_PROXY_NAME_LABEL];
    if (proxyName !== undefined) labels[SERVICE_PROXY_NAME_LABEL] = proxyName;
    if (headless) labels[HEADLESS_LABEL] = '';
    return staticSlices(props.endpoints, ports).map(
      (s) =>
        new k8s.KubeEndpointSlice(this, `EndpointSlice${s.addressType}`, {
          metadata: {
            name: `${this.name}-${s.addressType.toLowerCase()}`,
            ...(this.apiObject.metadata.namespace !== undefined ? { namespace: this.apiObject.metadata.namespace } : {}),
            labels,
          },
          addressType: s.addressType,
          endpoints: s.endpoints,
          ports: s.ports,
        }),
    );
  }

  /** Run at synth (by cdk8s and by SvcplaneApp): `Service ns/name: field: message` lines. */
  private validationMessages(): string[] {
    const issues: FieldIssue[] = [...this.propIssues, ...this.allocation.issues];
    const { props } = this.definition;
    if (props.selector !== undefined) {
      const r = resolveSelector(props.selector, this.apiObject.metadata.namespace);
      if (r.problem) issues.push({ field: 'spec.selector', message: r.problem });
    }
    // The API server's own rules, on the manifest as it will be written (escape-hatch patches included).
    const reported = new Set(issues.map((i) => i.field));
    for (const i of validateService(this.apiObject.toJson(), {
      nodePortRange: this.config.nodePortRange,
      serviceCIDRs: this.config.serviceCIDRs,
    })) {
      if (!reported.has(i.field)) issues.push(i);
    }
    return issues.map((i) => `Service ${this.namespace}/${this.name}: ${i.field}: ${i.message}`);
  }
}

/** A cdk8s Duration in whole seconds; undefined when it is not whole seconds. */
function affinitySeconds(d: Duration): number | undefined {
  const ms = d.toMilliseconds({ integral: false });
  return Number.isInteger(ms) && ms % 1000 === 0 ? ms / 1000 : undefined;
}

function allocatedFieldNames(a: AllocationResult): Set<string> {
  const fields = new Set<string>();
  for (const i of a.allocatedClusterIPs) {
    fields.add(`spec.clusterIPs[${i}]`);
    if (i === 0) fields.add('spec.clusterIP');
  }
  for (const i of a.allocatedNodePorts) fields.add(`spec.ports[${i}].nodePort`);
  if (a.allocatedHealthCheckNodePort) fields.add('spec.healthCheckNodePort');
  return fields;
}
