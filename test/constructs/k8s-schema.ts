// Checks a manifest against the Kubernetes OpenAPI schema, using kubernetes-models
// 5.1.0 (Kubernetes 1.33 API). Its validate() checks types, required fields and
// enums, but its schemas allow unknown properties, so a misspelt field would
// pass; we therefore also compare every key with the property list of the
// package's generated type declarations for that object.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';

const MODELS = fileURLToPath(new URL('../../node_modules/kubernetes-models/', import.meta.url));
const APIMACHINERY = fileURLToPath(new URL('../../node_modules/@kubernetes-models/apimachinery/', import.meta.url));

const keyCache = new Map<string, Set<string>>();

/** Property names of the first interface in a kubernetes-models .d.ts file. */
function keysOf(dts: string): Set<string> {
  let keys = keyCache.get(dts);
  if (!keys) {
    const text = readFileSync(dts, 'utf8');
    const start = text.indexOf('export interface ');
    const end = text.indexOf('\n}', start);
    assert.ok(start >= 0 && end > start, `no interface in ${dts}`);
    keys = new Set([...text.slice(start, end).matchAll(/^ {4}"([A-Za-z0-9_$]+)"\??:/gm)].map((m) => m[1]!));
    keyCache.set(dts, keys);
  }
  return keys;
}

/** Where each nested object's type declaration lives: path pattern -> .d.ts. */
type Shape = { file: string; children?: Record<string, Shape> };

const meta: Shape = { file: `${APIMACHINERY}apis/meta/v1/ObjectMeta.d.ts` };
const SHAPES: Record<string, Shape> = {
  Service: {
    file: `${MODELS}v1/Service.d.ts`,
    children: {
      metadata: meta,
      spec: {
        file: `${MODELS}v1/ServiceSpec.d.ts`,
        children: {
          ports: { file: `${MODELS}v1/ServicePort.d.ts` },
          sessionAffinityConfig: {
            file: `${MODELS}v1/SessionAffinityConfig.d.ts`,
            children: { clientIP: { file: `${MODELS}v1/ClientIPConfig.d.ts` } },
          },
        },
      },
    },
  },
  EndpointSlice: {
    file: `${MODELS}discovery.k8s.io/v1/EndpointSlice.d.ts`,
    children: {
      metadata: meta,
      endpoints: {
        file: `${MODELS}discovery.k8s.io/v1/Endpoint.d.ts`,
        children: {
          conditions: { file: `${MODELS}discovery.k8s.io/v1/EndpointConditions.d.ts` },
          hints: { file: `${MODELS}discovery.k8s.io/v1/EndpointHints.d.ts` },
        },
      },
      ports: { file: `${MODELS}discovery.k8s.io/v1/EndpointPort.d.ts` },
    },
  },
  ConfigMap: { file: `${MODELS}v1/ConfigMap.d.ts`, children: { metadata: meta } },
};

function checkKeys(value: unknown, shape: Shape, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkKeys(v, shape, `${path}[${i}]`));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const known = keysOf(shape.file);
  for (const [k, v] of Object.entries(value)) {
    assert.ok(known.has(k), `${path}.${k}: not a field of the Kubernetes schema (${shape.file.split('/').slice(-2).join('/')})`);
    const child = shape.children?.[k];
    if (child) checkKeys(v, child, `${path}.${k}`);
  }
}

/** Throws unless the manifest is a valid Service, EndpointSlice or ConfigMap with only known fields. */
export function assertValidManifest(manifest: unknown): void {
  const m = manifest as { kind?: string; metadata?: { name?: string } };
  const label = `${m.kind} ${m.metadata?.name}`;
  const shape = SHAPES[m.kind ?? ''];
  assert.ok(shape, `${label}: no schema check for kind ${m.kind}`);
  const data = manifest as never;
  const model = m.kind === 'Service' ? new Service(data) : m.kind === 'EndpointSlice' ? new EndpointSlice(data) : new ConfigMap(data);
  assert.doesNotThrow(() => model.validate(), `${label} fails the Kubernetes schema`);
  checkKeys(manifest, shape, label);
}
