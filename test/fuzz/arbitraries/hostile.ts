// Hostile strings, and the "slots" of a scenario a name-like string can sit in.
// A slot is replaced consistently everywhere it occurs (a Service's name is also
// its slices' service-name label; a node's name is also the endpoints' nodeName),
// so that a harmless value leaves the scenario meaning exactly the same.

import fc from 'fast-check';
import type { Json, ValidWorld } from './valid.js';

const label63 = `a${'-b'.repeat(31)}`;
const subdomain253 = [...Array(3).fill('a'.repeat(63)), 'a'.repeat(61)].join('.');

/** Strings that have broken parsers, quoting and comments somewhere. */
const CURATED = [
  '"; -A INPUT -j ACCEPT #',
  "' -j ACCEPT '",
  'a" -j DROP -m comment --comment "b',
  '\\',
  '\\"',
  'x\n-A SVP-SERVICES -j DROP',
  'x\r\nCOMMIT',
  '\t',
  'nul\u0000byte',
  '# comment',
  'a;b',
  '-A',
  '--to-destination 1.2.3.4',
  '$(reboot)',
  '`id`',
  '}, {"flush": {"ruleset": null}}, {',
  '\\u0022',
  'ünïcødé',
  '名前',
  '😀',
  '\u202eevil',
  'zero\u200bwidth',
  ' leading-space',
  'UPPER',
  label63,
  `${label63}c`,
  subdomain253,
  `${subdomain253}a`,
  'x'.repeat(5000),
  'veth+',
  'eth0',
  'br-0.1_2',
  'abcdefghijklmno',
];

const dangerous = fc.constantFrom('"', "'", '\\', '\n', '\r', '\0', '#', ';', ' ', '-A', '{', '}', ',', ':', '/', '+', 'é', '\u2028', '*', '.', '-', '_');

/** Values at the edge of what validation lets through, where limits elsewhere (tools, kernel) bite. */
const EDGE = [label63, subdomain253, 'abcdefghijklmno', 'abcdefghijklmn', 'a.b_c-D', 'a'.repeat(253), 'zone with spaces ü', 'x'.repeat(5000)];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...CURATED), weight: 3 },
  { arbitrary: fc.constantFrom(...EDGE), weight: 2 },
  { arbitrary: fc.array(fc.oneof(dangerous, fc.stringMatching(/^[a-z0-9]{1,6}$/)), { minLength: 1, maxLength: 8 }).map((a) => a.join('')), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), weight: 1 },
  { arbitrary: fc.tuple(fc.integer({ min: 1, max: 300 }), dangerous).map(([n, d]) => `${'a'.repeat(n)}${d}`), weight: 1 },
);

export interface Slot {
  readonly name: string;
  /** A harmless value for the slot, unlike anything else in a rendered document. */
  readonly benign: string;
  /** Fields an error about a bad value in this slot may name (prefixes). */
  readonly fields: readonly string[];
  /** The world with the slot set to `value`, or undefined when the world has no such slot. */
  apply(w: ValidWorld, value: string): ValidWorld | undefined;
}

const meta = (o: Json): Json => o.metadata as Json;
const isKind = (k: string) => (o: Json) => o.kind === k;
const firstService = (w: ValidWorld): Json => w.objects.find(isKind('Service'))!;
const slicesOf = (w: ValidWorld, svcName: string): Json[] =>
  w.objects.filter((o) => o.kind === 'EndpointSlice' && (meta(o).labels as Json)['kubernetes.io/service-name'] === svcName);

/** A deep copy of the world and a function to edit its objects in place. */
function edit(w: ValidWorld, f: (objects: Json[], nodeName: string | undefined) => string | undefined | void): ValidWorld {
  const objects = structuredClone(w.objects);
  const nodeName = f(objects, w.nodeName);
  return { ...w, objects, ...(typeof nodeName === 'string' ? { nodeName } : {}) };
}

/** Replaces every string equal to `from` anywhere in the objects (deep). */
function replaceEverywhere(v: unknown, from: string, to: string): unknown {
  if (v === from) return to;
  if (Array.isArray(v)) return v.map((x) => replaceEverywhere(x, from, to));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceEverywhere(x, from, to)]));
  return v;
}

function setConfig(w: ValidWorld, field: 'bridgeInterface' | 'interfaceNamePrefix', value: string): ValidWorld {
  const mode = field === 'bridgeInterface' ? 'BridgeInterface' : 'InterfaceNamePrefix';
  const others = w.objects.filter((o) => o.kind !== 'KubeProxyConfiguration');
  const old = w.objects.find(isKind('KubeProxyConfiguration')) ?? { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration' };
  return { ...w, objects: [...others, { ...old, detectLocalMode: mode, detectLocal: { [field]: value } }] };
}

export const SLOTS: readonly Slot[] = [
  {
    name: 'Service name (and its slices\' service-name label and selector)',
    benign: 'benign-zq',
    fields: ['metadata.name', 'metadata.labels[kubernetes.io/service-name]', 'spec.selector'],
    apply: (w, v) => {
      const old = meta(firstService(w)).name as string;
      return edit(w, (objects) => {
        const svc = objects.find(isKind('Service'))!;
        meta(svc).name = v;
        if ((svc.spec as Json).selector) (svc.spec as Json).selector = { app: v };
        for (const s of objects) if (s.kind === 'EndpointSlice' && (meta(s).labels as Json)['kubernetes.io/service-name'] === old) (meta(s).labels as Json)['kubernetes.io/service-name'] = v;
      });
    },
  },
  {
    name: 'namespace of a Service and its slices',
    benign: 'benign-zq',
    fields: ['metadata.namespace'],
    apply: (w, v) => {
      const svc = firstService(w);
      const name = meta(svc).name as string;
      const ns = meta(svc).namespace;
      return edit(w, (objects) => {
        for (const o of objects) {
          const mine = o.kind === 'Service' ? meta(o).name === name : o.kind === 'EndpointSlice' && (meta(o).labels as Json)['kubernetes.io/service-name'] === name;
          if (mine && meta(o).namespace === ns) meta(o).namespace = v;
        }
      });
    },
  },
  {
    name: 'port name (Service and slices)',
    benign: 'benign-zq',
    fields: ['spec.ports[0].name', 'ports['],
    apply: (w, v) => {
      const svc = firstService(w);
      const ports = (svc.spec as Json).ports as Json[] | undefined;
      if (!ports?.[0] || typeof ports[0].name !== 'string') return undefined;
      const old = ports[0].name;
      const slices = slicesOf(w, meta(svc).name as string).map((s) => meta(s).name);
      return edit(w, (objects) => {
        ((objects.find(isKind('Service'))!.spec as Json).ports as Json[])[0]!.name = v;
        for (const s of objects) if (s.kind === 'EndpointSlice' && slices.includes(meta(s).name)) for (const p of s.ports as Json[]) if (p.name === old) p.name = v;
      });
    },
  },
  {
    name: 'EndpointSlice name',
    benign: 'benign-zq',
    fields: ['metadata.name'],
    apply: (w, v) => (w.objects.some(isKind('EndpointSlice')) ? edit(w, (objects) => void (meta(objects.find(isKind('EndpointSlice'))!).name = v)) : undefined),
  },
  {
    name: 'label value',
    benign: 'benign-zq',
    fields: ['metadata.labels[team]'],
    apply: (w, v) => edit(w, (objects) => void ((meta(objects.find(isKind('Service'))!).labels as Json).team = v)),
  },
  {
    name: 'annotation value',
    benign: 'benign-zq',
    fields: ['metadata.annotations[example.com/note]'],
    apply: (w, v) => edit(w, (objects) => void ((meta(objects.find(isKind('Service'))!).annotations as Json)['example.com/note'] = v)),
  },
  {
    name: 'annotation key',
    benign: 'benign-zq',
    fields: ['metadata.annotations['],
    apply: (w, v) => edit(w, (objects) => void ((meta(objects.find(isKind('Service'))!).annotations as Json)[v] = 'x')),
  },
  {
    name: 'appProtocol',
    benign: 'benign-zq',
    fields: ['spec.ports[0].appProtocol'],
    apply: (w, v) => {
      if (!((firstService(w).spec as Json).ports as Json[] | undefined)?.[0]) return undefined;
      return edit(w, (objects) => void (((objects.find(isKind('Service'))!.spec as Json).ports as Json[])[0]!.appProtocol = v));
    },
  },
  {
    name: 'zone (endpoints, hints and the Node\'s label)',
    benign: 'benign-zq',
    fields: ['endpoints[', 'metadata.labels'],
    apply: (w, v) => ({ ...w, objects: replaceEverywhere(w.objects, 'zone-a', v) as Json[] }),
  },
  {
    name: 'node name (Node, endpoints, hints, --node-name, hostnameOverride)',
    benign: 'benign-zq',
    fields: ['metadata.name', 'endpoints[', '--node-name', 'hostnameOverride'],
    apply: (w, v) => {
      // --node-name and hostnameOverride are trimmed and lowercased (as kube-proxy does), Node names
      // and hints are taken as the API gives them (lowercase there by validation): a value that
      // case or spaces change names another node than the objects' (a seed of 2026-12-07 found
      // "\0A\0", whose hint then matched nothing), so it is not a like-for-like replacement.
      if (v.trim().toLowerCase() !== v) return undefined;
      const objects = (replaceEverywhere(w.objects, 'node1', v) as Json[]).map((o) =>
        o.kind === 'KubeProxyConfiguration' && typeof o.hostnameOverride === 'string' && o.hostnameOverride.trim().toLowerCase() === 'node1' ? { ...o, hostnameOverride: v } : o,
      );
      return { ...w, objects, ...(w.nodeName && w.nodeName.toLowerCase() === 'node1' ? { nodeName: v } : {}) };
    },
  },
  { name: 'detectLocal.bridgeInterface', benign: 'benignzq0', fields: ['detectLocal.bridgeInterface'], apply: (w, v) => setConfig(w, 'bridgeInterface', v) },
  { name: 'detectLocal.interfaceNamePrefix', benign: 'benignzq', fields: ['detectLocal.interfaceNamePrefix'], apply: (w, v) => setConfig(w, 'interfaceNamePrefix', v) },
];
