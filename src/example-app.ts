// The example app: one Service of each kind svcplane handles, and the node agent. src/main.ts
// synthesises it (`npm run synth`); tests build it too.

import { Chart, Duration } from 'cdk8s';
import { Deployment } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import {
  AgentBackend,
  ClusterIPService,
  ExternalNameService,
  HeadlessService,
  IpFamilyPolicy,
  LoadBalancerService,
  NodeAgent,
  NodePortService,
  Protocol,
  SessionAffinity,
  SvcplaneApp,
  type SvcplaneAppProps,
  TrafficPolicy,
} from './constructs/index.js';

/** MySQL reachable on every node's port 30964. */
class DatabaseChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'default' });
    new NodePortService(this, 'mysql', {
      metadata: { name: 'mysql-service', labels: { name: 'mysql', role: 'service' } },
      selector: { 'mysql-service': 'true' },
      ports: [{ port: 3306, targetPort: 3306, nodePort: 30964 }],
    });
  }
}

/** A web shop: its pods, the Services in front of them, and what they talk to. */
class ShopChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'shop' });

    const web = new Deployment(this, 'web', {
      replicas: 3,
      containers: [{ image: 'registry.example.com/shop/web:1.4.2', ports: [{ number: 8080, name: 'http' }, { number: 9090, name: 'metrics' }] }],
    });

    // Two ports, and each client sticks to one pod for half an hour (carts live in memory).
    new ClusterIPService(this, 'web-svc', {
      metadata: { name: 'web' },
      selector: web,
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
      sessionAffinity: SessionAffinity.CLIENT_IP,
      sessionAffinityTimeout: Duration.minutes(30),
    });

    // The public entry: only from the partners' networks, client IPs preserved,
    // the load balancer's address already known.
    new LoadBalancerService(this, 'storefront', {
      metadata: { name: 'storefront' },
      selector: web,
      ports: [{ name: 'https', port: 443, targetPort: 'http' }],
      externalTrafficPolicy: TrafficPolicy.LOCAL,
      loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.0/24'],
      loadBalancerIngress: ['192.0.2.100'],
    });

    // Pods find each other by DNS for cache gossip, before they are ready.
    new HeadlessService(this, 'web-peers', {
      metadata: { name: 'web-peers' },
      selector: web,
      ports: [{ name: 'gossip', port: 7946, protocol: Protocol.UDP }],
      publishNotReadyAddresses: true,
    });

    // The API on both IPv4 and IPv6.
    new ClusterIPService(this, 'api', {
      metadata: { name: 'api' },
      selector: { app: 'shop-api' },
      ports: [{ name: 'https', port: 443, targetPort: 8443 }],
      ipFamilyPolicy: IpFamilyPolicy.REQUIRE_DUAL_STACK,
    });

    // The payment provider, by DNS name.
    new ExternalNameService(this, 'payments', {
      metadata: { name: 'payments' },
      externalName: 'api.payments.example.com',
    });

    // The old order database outside the cluster: no selector, fixed endpoints.
    new ClusterIPService(this, 'orders-db', {
      metadata: { name: 'orders-db' },
      ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }],
      endpoints: [
        { addresses: ['192.0.2.20'], zone: 'zone-a' },
        { addresses: ['192.0.2.21'], zone: 'zone-b' },
      ],
    });
  }
}

/** svcplane's own agent on every node, mounting the app's plan ConfigMap. */
class AgentChart extends Chart {
  constructor(scope: Construct, id: string) {
    // No chart namespace: the agent puts its namespaced objects beside the plan.
    super(scope, id);
    new NodeAgent(this, 'agent', { image: 'registry.example.com/svcplane:0.1.0', backend: AgentBackend.NFTABLES });
  }
}

/** The example app, not yet synthesised. */
export function buildExampleApp(props: SvcplaneAppProps = {}): SvcplaneApp {
  const app = new SvcplaneApp(props);
  new DatabaseChart(app, 'database');
  new ShopChart(app, 'shop');
  new AgentChart(app, 'svcplane-agent');
  return app;
}
