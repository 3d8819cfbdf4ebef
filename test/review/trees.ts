// Two dist/-like trees for the diff tests: Kubernetes manifests (Services and static
// EndpointSlices) plus rules/ with plan.json and every backend's ruleset, made the way
// synth makes them (renderRulesFiles), from an "old" and a "new" set of Services.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { registeredBackends } from '../../src/backends/registry.js';
import { renderRulesFiles } from '../../src/constructs/rules-writer.js';
import { collectInputs } from '../../src/manifests/inputs.js';

const LABELS = { 'service.kubernetes.io/service-proxy-name': 'svcplane' };

export function service(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop', labels: LABELS }, spec };
}

export function slice(service: string, addresses: string[], port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: addresses.map((a) => ({ addresses: [a], nodeName: 'node1', ...extra })),
  };
}

export const OLD_OBJECTS = [
  service('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
  slice('web', ['10.244.1.10', '10.244.1.11'], 8080),
  service('api', { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 443, targetPort: 8443, nodePort: 30443 }] }),
  slice('api', ['10.244.1.20'], 8443),
  service('gone', { clusterIP: '10.96.0.30', ports: [{ name: 'http', port: 80, targetPort: 80 }] }),
];

export const NEW_OBJECTS = [
  // web: one endpoint more, ClientIP affinity.
  service('web', { clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
  slice('web', ['10.244.1.10', '10.244.1.11', '10.244.1.12'], 8080),
  // api: another NodePort, Local external policy.
  service('api', { type: 'NodePort', clusterIP: '10.96.0.20', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 443, targetPort: 8443, nodePort: 30444 }] }),
  slice('api', ['10.244.1.20'], 8443),
  // gone: removed; fresh: added.
  service('fresh', { clusterIP: '10.96.0.40', ports: [{ name: 'http', port: 8080, targetPort: 8080 }] }),
  slice('fresh', ['10.244.1.40'], 8080),
];

/** Writes a dist/-like tree for these objects under `dir`; returns `dir`. */
export function writeTree(dir: string, objects: readonly Record<string, unknown>[]): string {
  mkdirSync(join(dir, 'rules'), { recursive: true });
  writeFileSync(join(dir, 'shop.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  const inputs = collectInputs(objects.map((object, i) => ({ object, source: `objects#${i}` })));
  for (const f of renderRulesFiles(inputs.plan, inputs.endpointSlices, registeredBackends())) writeFileSync(join(dir, 'rules', f.file), f.content);
  return dir;
}
