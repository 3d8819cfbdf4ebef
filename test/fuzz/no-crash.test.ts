// Property 1: whatever the documents hold, collecting and rendering either succeed
// or fail with an InputError, never a TypeError or any other exception; and what
// collectInputs accepts (strict or lenient) every backend renders without throwing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allPaths, setPath } from './arbitraries/json-paths.js';
import { toDocs, validWorld, type Json, type Scenario } from './arbitraries/valid.js';
import { renderAll, inputErrorOr } from './pipeline.js';
import { fuzzParams } from './runs.js';

/** JSON as YAML can also produce it: non-finite and negative-zero numbers, huge integers. */
const yamlish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1, -1, 65535, 65536, 1.5, 2 ** 53, 1e21, Number.NaN, Number.POSITIVE_INFINITY, ''),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('None', '10.96.0.1', 'fd00::1', '10.0.0.0/8', 'TCP', 'LoadBalancer', 'Local', 'ClientIP', 'primary', 'IPv4', 'IPv6'),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('name', 'port', 'ip', 'addresses', 'ready', 'ports', 'spec', 'type')), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A valid world with one place (any depth, containers too) replaced by anything. */
const corruptedWorld: fc.Arbitrary<Scenario> = fc.tuple(validWorld, fc.nat(), fc.nat(), yamlish).map(([w, pickObject, pickPath, value]) => {
  const i = pickObject % w.objects.length;
  const paths = allPaths(w.objects[i]);
  const objects = [...w.objects];
  objects[i] = setPath(objects[i]!, paths[pickPath % paths.length]!, value) as Json;
  return { docs: toDocs(objects), mode: w.mode };
});

const KINDS: Array<[string, string]> = [
  ['v1', 'Service'],
  ['discovery.k8s.io/v1', 'EndpointSlice'],
  ['v1', 'Node'],
  ['networking.k8s.io/v1', 'ServiceCIDR'],
  ['kubeproxy.config.k8s.io/v1alpha1', 'KubeProxyConfiguration'],
  ['svcplane.io/v1alpha1', 'ServicePlan'],
];

/** Documents of our kinds whose every other field is random. */
const randomDocs: fc.Arbitrary<Scenario> = fc
  .array(
    fc.tuple(fc.constantFrom(...KINDS), fc.dictionary(fc.constantFrom('metadata', 'spec', 'status', 'endpoints', 'ports', 'addressType', 'mode', 'ipvs', 'clusterCIDR', 'services', 'serviceCIDRs', 'nodePortRange'), yamlish, { maxKeys: 4 })),
    { maxLength: 4 },
  )
  .chain((items) =>
    fc.oneof(fc.constant(items.map(([[apiVersion, kind], rest]) => ({ apiVersion, kind, ...rest }) as unknown)), yamlish.map((v) => [v])),
  )
  .map((objects) => ({ docs: toDocs(objects as Json[]), mode: 'replace' }));

/** Prototype keys and other JSON a parser can hand over (JSON.parse makes __proto__ an own key). */
const PARSED = [
  '{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","labels":{"__proto__":"x"}},"spec":{"ports":[{"port":80}],"clusterIP":"10.96.0.10"}}',
  '{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","__proto__":{"name":"b"}},"spec":{"selector":{"constructor":"x"},"ports":[{"port":80,"__proto__":{"port":0}}]}}',
  '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"s","labels":{"kubernetes.io/service-name":"toString"}},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"__proto__":null}}],"ports":[{"name":"hasOwnProperty","port":80}]}',
  '{"apiVersion":"kubeproxy.config.k8s.io/v1alpha1","kind":"KubeProxyConfiguration","__proto__":{"mode":"ipvs"},"iptables":{"__proto__":{"masqueradeBit":99}}}',
];

function noCrash(s: Scenario): void {
  if ('value' in inputErrorOr(() => renderAll(s, true))) return;
  // Refused in strict mode: lenient mode skips the bad objects and renders the rest.
  const r = inputErrorOr(() => renderAll(s, false));
  assert.ok('value' in r, `lenient mode must skip bad objects, not throw: ${'error' in r ? r.error.message : ''}`);
}

describe('fuzz: no input crashes collecting or rendering', () => {
  it('a valid scenario with any one value replaced by any JSON (or YAML) value', () => {
    fc.assert(fc.property(corruptedWorld, noCrash), fuzzParams(800));
  });

  it('documents of our kinds with random contents', () => {
    fc.assert(fc.property(randomDocs, noCrash), fuzzParams(800));
  });

  it('parsed JSON with prototype keys', () => {
    for (const text of PARSED) noCrash({ docs: toDocs([JSON.parse(text) as Json]), mode: 'replace' });
  });
});
