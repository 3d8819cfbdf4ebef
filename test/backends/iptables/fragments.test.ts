// The iptables syncer renders only the Services it is told changed and reassembles
// the rest from their cached fragments. Property: after any sequence of changes, what
// it assembles equals a fresh full render of the same input, chain for chain and byte
// for byte (so a partial sync sends what a full one would).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { serializeIptables } from '../../../src/backends/iptables/document.js';
import { diffFamily } from '../../../src/backends/iptables/diff.js';
import { applyDelta, type AssembledFamily, type FamilyDelta } from '../../../src/backends/iptables/fragments.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import type { EndpointSliceInfo } from '../../../src/model/endpoints.js';
import type { PlanService } from '../../../src/model/plan.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, NODE1, port, slice, svc } from '../../helpers/model.js';
import { fuzzParams } from '../../fuzz/runs.js';

/** One Service of a small pool, as the generator draws it. */
interface Spec {
  readonly present: boolean;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  readonly dual: boolean;
  readonly ports: 1 | 2;
  /** Which of four endpoints exist (bit i), and which are on this node (bit i of `local`). */
  readonly eps: number;
  readonly local: number;
  readonly etpLocal: boolean;
  readonly affinity: boolean;
  readonly sourceRanges: boolean;
}

const spec: fc.Arbitrary<Spec> = fc.record({
  present: fc.boolean(),
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  dual: fc.boolean(),
  ports: fc.constantFrom(1, 2),
  eps: fc.integer({ min: 0, max: 15 }),
  local: fc.integer({ min: 0, max: 15 }),
  etpLocal: fc.boolean(),
  affinity: fc.boolean(),
  sourceRanges: fc.boolean(),
});

// Namespaces whose order by namespace differs from the order of "namespace/name" strings.
const NAMES = [
  ['a', 'web'],
  ['a-b', 'web'],
  ['a', 'db'],
  ['default', 'api'],
  ['default', 'cache'],
] as const;

function build(i: number, s: Spec): { service: PlanService; slices: EndpointSliceInfo[] } {
  const [namespace, name] = NAMES[i]!;
  const ports = s.ports === 1 ? [port(80, 8080, s.type === 'ClusterIP' ? {} : { nodePort: 30080 + i })] : [port(80, 8080, { name: 'http', ...(s.type === 'ClusterIP' ? {} : { nodePort: 30080 + i }) }), port(53, 53, { name: 'dns', protocol: 'UDP' })];
  const service = svc({
    namespace,
    name,
    type: s.type,
    clusterIPs: s.dual ? [`10.96.0.${10 + i}`, `fd00:10:96::${10 + i}`] : [`10.96.0.${10 + i}`],
    ports,
    ...(s.type === 'LoadBalancer' ? { loadBalancerIngress: [{ ip: `203.0.113.${10 + i}`, ipMode: 'VIP' as const }] } : {}),
    ...(s.type === 'LoadBalancer' && s.sourceRanges ? { loadBalancerSourceRanges: ['198.51.100.0/24'] } : {}),
    ...(s.type !== 'ClusterIP' && s.etpLocal ? { externalTrafficPolicy: 'Local' as const, healthCheckNodePort: 31000 + i } : {}),
    ...(s.affinity ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: 600 } } : {}),
  });
  const endpoints = [0, 1, 2, 3].filter((b) => s.eps & (1 << b)).map((b) => ep(`10.244.${s.local & (1 << b) ? 1 : 2}.${10 * i + b + 1}`, s.local & (1 << b) ? 'node1' : 'node2'));
  const slicePorts = s.ports === 1 ? [{ port: 8080 }] : [{ name: 'http', port: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' as const }];
  const slices = [slice(name, endpoints, slicePorts, { namespace, name: `${name}-v4` })];
  return { service, slices };
}

function inputOf(specs: readonly Spec[], nodeVariant: boolean): RenderInput {
  const built = specs.map((s, i) => (s.present ? build(i, s) : undefined)).filter((b) => b !== undefined);
  return input(
    built.map((b) => b.service),
    built.flatMap((b) => b.slices),
    nodeVariant ? { node: { ...NODE1, addresses: ['192.168.50.7', 'fd00:50::7'] } } : {},
  );
}

/**
 * A step changes one Service, or the node (which every rule depends on). `full`: the
 * render is a full sync's (no `changed`: the syncer finds what moved by itself).
 */
const step = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('service' as const), index: fc.integer({ min: 0, max: NAMES.length - 1 }), spec, full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('node' as const), full: fc.boolean() }) },
);

/** The chains as plain objects: the syncer keeps a Service's own chains packed (packed-chains.ts), read through `rules`. */
const plain = (tables: ReturnType<typeof renderIptables>) =>
  tables.map((t) => ({ family: t.family, filter: t.filter.map((c) => ({ name: c.name, rules: c.rules })), nat: t.nat.map((c) => ({ name: c.name, rules: c.rules })) }));

const keyOf = (i: number) => `${NAMES[i]![0]}/${NAMES[i]![1]}`;

describe('iptables render cache', () => {
  it('after any sequence of changes, the partial render equals a full render', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: NAMES.length, maxLength: NAMES.length }), fc.array(step, { minLength: 1, maxLength: 12 }), (initial, steps) => {
        const specs = [...initial];
        let nodeVariant = false;
        // render() alone touches no kernel: the runner is never called.
        const syncer = new IptablesSyncer(new IptablesRunner('svp-never-used'));
        let current = inputOf(specs, nodeVariant);
        assert.deepEqual(plain(syncer.render(current)), renderIptables(current));
        for (const s of steps) {
          let changed: Set<string>;
          if (s.kind === 'node') {
            nodeVariant = !nodeVariant;
            changed = new Set(); // the fingerprint, not the caller, says everything changed
          } else {
            specs[s.index] = s.spec;
            changed = new Set([keyOf(s.index)]);
          }
          current = inputOf(specs, nodeVariant);
          const partial = syncer.render(current, s.full ? undefined : changed);
          const full = renderIptables(current);
          assert.deepEqual(plain(partial), full);
          assert.equal(serializeIptables(partial), serializeIptables(full));
        }
      }),
      fuzzParams(300),
    );
  });

  it("a partial sync's delta sends what the whole family's diff sends, and leaves what was written equal to the whole family", () => {
    type Renders = { renderAs(i: RenderInput, c: ReadonlySet<string> | undefined, delta: boolean): AssembledFamily[] | FamilyDelta[] };
    const byNameOf = (fam: AssembledFamily) => ({ filter: new Map(fam.byName.filter), nat: new Map(fam.byName.nat) });
    const names = (d: ReturnType<typeof diffFamily>) => d.tables.map((t) => ({ table: t.table, changed: t.changed.map((c) => c.name), deleted: t.deleted }));
    fc.assert(
      fc.property(fc.array(spec, { minLength: NAMES.length, maxLength: NAMES.length }), fc.array(step, { minLength: 1, maxLength: 12 }), (initial, steps) => {
        const specs = [...initial];
        let nodeVariant = false;
        // Two syncers fed the same inputs: one renders deltas, the other the whole family.
        const deltas = new IptablesSyncer(new IptablesRunner('svp-never-used')) as unknown as Renders;
        const wholes = new IptablesSyncer(new IptablesRunner('svp-never-used'));
        let current = inputOf(specs, nodeVariant);
        let written = (deltas.renderAs(current, undefined, true) as AssembledFamily[]).map(byNameOf);
        wholes.render(current);
        for (const s of steps) {
          let changed: Set<string> | undefined;
          if (s.kind === 'node') {
            nodeVariant = !nodeVariant;
            changed = new Set();
          } else {
            specs[s.index] = s.spec;
            changed = new Set([keyOf(s.index)]);
          }
          if (s.full) changed = undefined;
          current = inputOf(specs, nodeVariant);
          const got = deltas.renderAs(current, changed, true);
          const whole = wholes.render(current, changed);
          if (!('gone' in got[0]!)) {
            // A full render or a new fingerprint: the whole family, as render() gives it.
            assert.equal(serializeIptables(got as AssembledFamily[]), serializeIptables(whole));
            written = (got as AssembledFamily[]).map(byNameOf);
            continue;
          }
          (got as FamilyDelta[]).forEach((delta, i) => {
            const w = written[i]!;
            assert.deepEqual(names(diffFamily(delta, w, delta.gone)), names(diffFamily(whole[i]!, w)));
            applyDelta(w, delta);
            const want = whole[i]!.byName;
            for (const t of ['filter', 'nat'] as const) {
              assert.deepEqual([...w[t].keys()].sort(), [...want[t].keys()].sort());
              for (const [name, c] of want[t]) assert.deepEqual(w[t].get(name)!.rules, c.rules, name);
            }
          });
        }
      }),
      fuzzParams(300),
    );
  });

  it('renders only the Services named as changed (a stale one stays as it was cached)', () => {
    const a = build(0, { present: true, type: 'ClusterIP', dual: false, ports: 1, eps: 1, local: 1, etpLocal: false, affinity: false, sourceRanges: false });
    const b = build(3, { present: true, type: 'ClusterIP', dual: false, ports: 1, eps: 1, local: 1, etpLocal: false, affinity: false, sourceRanges: false });
    const syncer = new IptablesSyncer(new IptablesRunner('svp-never-used'));
    syncer.render(input([a.service, b.service], [...a.slices, ...b.slices]));
    // Both Services lose their endpoints, but only a is named: b's cached chains stay.
    const next = input([a.service, b.service], []);
    const partial = serializeIptables(syncer.render(next, new Set([keyOf(0)])));
    assert.notEqual(partial, serializeIptables(renderIptables(next)));
    assert.match(partial, /a\/web:80\/TCP has no endpoints/, 'the named Service is rendered anew');
    assert.match(partial, /default\/api:80\/TCP -> 10\.244\.1\.31:8080/, 'the other keeps its cached endpoint');
    // A full sync's render (no `changed`) finds the Service whose input moved by itself.
    assert.equal(serializeIptables(syncer.render(next)), serializeIptables(renderIptables(next)));
  });

  it("a full sync's render reuses the fragments of Services whose input did not move, and renders the others", () => {
    const spec = { present: true, type: 'NodePort', dual: true, ports: 2, eps: 3, local: 1, etpLocal: false, affinity: false, sourceRanges: false } as const;
    const a = build(0, spec);
    const b = build(3, spec);
    const syncer = new IptablesSyncer(new IptablesRunner('svp-never-used'));
    const chainsOf = (tables: ReturnType<typeof renderIptables>, label: string) =>
      tables.flatMap((t) => [...t.filter, ...t.nat]).filter((c) => c.rules.length > 0 && c.rules.every((r) => r.includes(label)));
    const first = syncer.render(input([a.service, b.service], [...a.slices, ...b.slices]));
    const cached = (i: number) => (syncer as unknown as { cache: { fragments: Map<string, unknown> } }).cache.fragments.get(keyOf(i));
    const [aFragment, bFragment] = [cached(0), cached(3)];
    // The same content in new objects (a plan reload, an API relist): still reused. Only b's endpoints change.
    const b2 = build(3, { ...spec, eps: 7 });
    const next = input([structuredClone(a.service), b2.service], [...structuredClone(a.slices), ...b2.slices]);
    const second = syncer.render(next);
    assert.equal(serializeIptables(second), serializeIptables(renderIptables(next)));
    const aBefore = chainsOf(first, 'a/web:');
    const aAfter = chainsOf(second, 'a/web:');
    assert.ok(aBefore.length >= 4, JSON.stringify(aBefore));
    // a's fragment is the very one rendered the first time (its chains made from it again, the same rules).
    assert.equal(cached(0), aFragment);
    assert.deepEqual(aAfter.map((c) => [c.name, c.rules]), aBefore.map((c) => [c.name, c.rules]));
    // b's is new: its input moved.
    assert.notEqual(cached(3), bFragment);
    const bBefore = new Map(chainsOf(first, 'default/api:').map((c) => [c.name, c.rules]));
    assert.ok(chainsOf(second, 'default/api:').some((c) => bBefore.has(c.name) && JSON.stringify(bBefore.get(c.name)) !== JSON.stringify(c.rules)));
  });
});
