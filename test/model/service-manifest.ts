// A valid ClusterIP Service manifest for validator tests; `spec`, `meta` and `extra`
// are merged over it, so each test writes only the field it is about.

export type Obj = Record<string, unknown>;

export function svc(spec: Obj = {}, meta: Obj = {}, extra: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', ...meta },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }], ...spec },
    ...extra,
  };
}
