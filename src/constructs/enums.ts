// The closed sets of values the Service constructs accept. Enums rather than
// strings so a typo is a compile error, not a Service the API server refuses.

/** Transport protocol of a Service port. */
export enum Protocol {
  TCP = 'TCP',
  UDP = 'UDP',
  SCTP = 'SCTP',
}

export enum IpFamily {
  IPV4 = 'IPv4',
  IPV6 = 'IPv6',
}

/** How many IP families a Service gets (dual-stack). */
export enum IpFamilyPolicy {
  /** One family: the first of ipFamilies, or the cluster's primary family. */
  SINGLE_STACK = 'SingleStack',
  /** Both families when the cluster has both, else one. */
  PREFER_DUAL_STACK = 'PreferDualStack',
  /** Both families; synth fails when the app has a service CIDR for only one. */
  REQUIRE_DUAL_STACK = 'RequireDualStack',
}

/** externalTrafficPolicy / internalTrafficPolicy. */
export enum TrafficPolicy {
  /** Any ready endpoint in the cluster (source NATed for external traffic). */
  CLUSTER = 'Cluster',
  /** Only endpoints on the node the traffic arrived at; external clients keep their source IP. */
  LOCAL = 'Local',
}

export enum SessionAffinity {
  NONE = 'None',
  /** The same client IP reaches the same endpoint until the affinity timeout expires. */
  CLIENT_IP = 'ClientIP',
}

/** spec.trafficDistribution: a preference for nearby endpoints. */
export enum TrafficDistribution {
  /** Endpoints in the client's zone when there are any (Kubernetes 1.31+). */
  PREFER_CLOSE = 'PreferClose',
  /** Same as PREFER_CLOSE under a clearer name (Kubernetes 1.33+, alpha). */
  PREFER_SAME_ZONE = 'PreferSameZone',
  /** Endpoints on the client's node when there are any (Kubernetes 1.33+, alpha). */
  PREFER_SAME_NODE = 'PreferSameNode',
}

/**
 * Which proxy programs the node rules for a Service. Chosen with the label
 * `service.kubernetes.io/service-proxy-name`: kube-proxy ignores every Service
 * that carries it, svcplane (in its default `coexist` mode) takes only those
 * labelled `svcplane`.
 */
export enum ServiceProxy {
  /** Label the Service `service.kubernetes.io/service-proxy-name: svcplane` (the default). */
  SVCPLANE = 'svcplane',
  /** No label: kube-proxy handles the Service (and svcplane only in `replace` mode). */
  KUBE_PROXY = 'kube-proxy',
}
