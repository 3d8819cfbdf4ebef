// Checks a manifest against the Kubernetes OpenAPI schema, using kubernetes-models
// 5.1.0 (Kubernetes 1.33 API). Its validate() checks types, required fields and
// enums, but its schemas allow unknown properties, so a misspelt field would
// pass; we therefore also compare every key, at every depth, with the property
// list of the package's generated type declaration for that object, following
// each property's declared type (its import) down to nested objects.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';

const MODELS = fileURLToPath(new URL('../../node_modules/kubernetes-models/', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/** The declared properties of one object type: name -> .d.ts of its object type (if it is one). */
type Properties = Map<string, string | undefined>;
const cache = new Map<string, Properties>();

/** Properties of the first interface in a kubernetes-models .d.ts file, with where their types live. */
function propertiesOf(dts: string): Properties {
  let props = cache.get(dts);
  if (props) return props;
  const text = readFileSync(dts, 'utf8');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/^import \{ ([A-Za-z0-9_]+) \} from "([^"]+)";$/gm)) {
    const from = m[2]!;
    const file = from.startsWith('.') ? join(dirname(dts), from.replace(/\.js$/, '.d.ts')) : join(NODE_MODULES, `${from}.d.ts`);
    imports.set(m[1]!, file);
  }
  const start = text.indexOf('export interface ');
  const end = text.indexOf('\n}', start);
  assert.ok(start >= 0 && end > start, `no interface in ${dts}`);
  props = new Map();
  for (const m of text.slice(start, end).matchAll(/^ {4}"([A-Za-z0-9_$]+)"\??: (.*)$/gm)) {
    // `Foo;` or `Array<Foo>;`: an object type declared in another file.
    const type = /^(?:Array<)?([A-Za-z0-9_]+)>?;$/.exec(m[2]!)?.[1];
    props.set(m[1]!, type ? imports.get(type) : undefined);
  }
  cache.set(dts, props);
  return props;
}

function checkKeys(value: unknown, dts: string, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkKeys(v, dts, `${path}[${i}]`));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const known = propertiesOf(dts);
  for (const [k, v] of Object.entries(value)) {
    assert.ok(known.has(k), `${path}.${k}: not a field of the Kubernetes schema (${dts.split('/').slice(-2).join('/')})`);
    const child = known.get(k);
    if (child) checkKeys(v, child, `${path}.${k}`);
  }
}

const MODELS_BY_KIND: Record<string, { file: string; make: (data: never) => { validate(): void } }> = {
  Service: { file: 'v1/Service.d.ts', make: (d) => new Service(d) },
  ConfigMap: { file: 'v1/ConfigMap.d.ts', make: (d) => new ConfigMap(d) },
  ServiceAccount: { file: 'v1/ServiceAccount.d.ts', make: (d) => new ServiceAccount(d) },
  EndpointSlice: { file: 'discovery.k8s.io/v1/EndpointSlice.d.ts', make: (d) => new EndpointSlice(d) },
  DaemonSet: { file: 'apps/v1/DaemonSet.d.ts', make: (d) => new DaemonSet(d) },
  ClusterRole: { file: 'rbac.authorization.k8s.io/v1/ClusterRole.d.ts', make: (d) => new ClusterRole(d) },
  ClusterRoleBinding: { file: 'rbac.authorization.k8s.io/v1/ClusterRoleBinding.d.ts', make: (d) => new ClusterRoleBinding(d) },
};

/** Kinds assertValidManifest knows. */
export const CHECKED_KINDS: readonly string[] = Object.keys(MODELS_BY_KIND);

/** Throws unless the manifest is valid for its kind (one of CHECKED_KINDS) and has only known fields. */
export function assertValidManifest(manifest: unknown): void {
  const m = manifest as { kind?: string; metadata?: { name?: string } };
  const label = `${m.kind} ${m.metadata?.name}`;
  const model = MODELS_BY_KIND[m.kind ?? ''];
  assert.ok(model, `${label}: no schema check for kind ${m.kind}`);
  assert.doesNotThrow(() => model.make(manifest as never).validate(), `${label} fails the Kubernetes schema`);
  checkKeys(manifest, `${MODELS}${model.file}`, label);
}
