// render-text.ts writes the document one Service port at a time; it must give the
// same bytes as rendering every table first and serialising them (render.ts +
// document.ts), which the goldens and the kernel tests pin down. Checked on every
// feature fixture, on input with affinity (fragment sets), on an empty input, and on
// a mixed input large enough to spread Services over every shard table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { serializeTables } from '../../../src/backends/nftables/document.js';
import { renderDocumentText } from '../../../src/backends/nftables/render-text.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { features } from '../../helpers/features.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { syntheticInput } from '../../../bench/synthetic.js';
import { scenarioOf, validWorld } from '../../fuzz/arbitraries/valid.js';
import { collect } from '../../fuzz/pipeline.js';
import { fuzzParams } from '../../fuzz/runs.js';

const twoPass = (inp: RenderInput) => serializeTables(renderTables(inp));

/** The nftables RenderInput of a random valid scenario (test/fuzz's generator: every Service feature). */
function inputOf(w: Parameters<typeof scenarioOf>[0]): RenderInput {
  const s = scenarioOf(w);
  const c = collect(s, true, 'nftables');
  return { plan: c.plan, endpointSlices: c.endpointSlices, node: c.node, config: c.config, mode: s.mode };
}

describe('nftables render, one Service port at a time', () => {
  it('equals the two-pass render on an input without Services', () => {
    assert.equal(renderDocumentText(input([])), twoPass(input([])));
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`equals the two-pass render for ${name}`, () => {
      assert.equal(renderDocumentText(inp), twoPass(inp));
    });
  }

  it('writes each per-endpoint key once when Service addresses repeat (first wins, as the two-pass render)', () => {
    // Invalid in a cluster but possible in input: an external IP shared by two Services on one port, an
    // external IP equal to the ClusterIP, one node port on two Services; the endpoints overlap in part.
    const eps = (...last: number[]) => last.map((n) => ep(`10.244.1.${n}`, 'node1'));
    const inp = input(
      [
        svc({ name: 'a', type: 'NodePort', clusterIPs: ['10.96.0.10'], externalIPs: ['192.0.2.1', '10.96.0.10'], ports: [port(80, 8080, { nodePort: 30080 })] }),
        svc({ name: 'b', type: 'NodePort', clusterIPs: ['10.96.0.11'], externalIPs: ['192.0.2.1'], ports: [port(80, 8080, { nodePort: 30080 })] }),
        svc({ name: 'c', clusterIPs: ['10.96.0.12'], externalIPs: ['192.0.2.1'], ports: [port(80, 8080)] }),
      ],
      [slice('a', eps(1, 2, 3), [{ port: 8080 }]), slice('b', eps(3, 4, 1), [{ port: 8080 }]), slice('c', eps(5, 2, 4), [{ port: 8080 }])],
    );
    const doc = renderDocumentText(inp);
    assert.equal(doc, twoPass(inp));
    const lines = doc.split('\n').filter((l) => l.includes('"name":"endpoint-traffic","elem"') || l.includes('"name":"nodeport-endpoint-traffic","elem"'));
    const keys = lines.map((l) => JSON.stringify((JSON.parse(l.replace(/,$/, '')) as { element: { name: string; elem: { elem: { val: unknown } }[] } }).element.elem[0]!.elem.val));
    assert.equal(new Set(keys).size, keys.length, 'no key twice');
    // a: 3 endpoints x (ClusterIP, 192.0.2.1) + 3 node port; b: ClusterIP 3, 192.0.2.1 only 10.244.1.4, node port only .4;
    // c: ClusterIP 3, 192.0.2.1 only .5 (.2 came with a, .4 with b).
    assert.equal(keys.length, 6 + 3 + 3 + 1 + 1 + 3 + 1);
  });

  it('tells an endpoint from one whose key text starts the same (port 80 under a repeated address, port 8080 before it)', () => {
    // b's endpoint 10.244.1.1:80 is new under 192.0.2.1 although a wrote 10.244.1.1:8080 there: a match on
    // part of an endpoint's text would drop it.
    const inp = input(
      [
        svc({ name: 'a', clusterIPs: ['10.96.0.10'], externalIPs: ['192.0.2.1'], ports: [port(80, 8080)] }),
        svc({ name: 'b', clusterIPs: ['10.96.0.11'], externalIPs: ['192.0.2.1'], ports: [port(80, 80)] }),
      ],
      [slice('a', [ep('10.244.1.1', 'node1')], [{ port: 8080 }]), slice('b', [ep('10.244.1.1', 'node1')], [{ port: 80 }])],
    );
    const doc = renderDocumentText(inp);
    assert.equal(doc, twoPass(inp));
    assert.match(doc, /"192\.0\.2\.1","tcp",80,"10\.244\.1\.1",80\]/);
  });

  it('equals the two-pass render on random valid inputs (every feature; the text-written per-endpoint lines among them)', () => {
    // What the text parts (endpoint-traffic-text.ts, dnat-text.ts) write, and how often the cases held it:
    // the property is only worth something if they did.
    const seen = { numgen: 0, dnat: 0, hairpin: 0, affinity: 0, local: 0, ext: 0 };
    fc.assert(
      fc.property(validWorld, (w) => {
        const inp = inputOf(w);
        const doc = renderDocumentText(inp);
        assert.equal(doc, twoPass(inp));
        if (doc.includes('"numgen"')) seen.numgen++;
        if (doc.includes('"dnat"')) seen.dnat++;
        if (doc.includes('"name":"hairpin","elem"')) seen.hairpin++;
        if (doc.includes('"chain":"ep-')) seen.affinity++;
        if (doc.includes('"chain":"local-')) seen.local++;
        if (doc.includes('"chain":"ext-')) seen.ext++;
      }),
      fuzzParams(400),
    );
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no random case held ${what} rules`);
  });

  it('equals the two-pass render with Services in every shard (300 Services x 3 endpoints)', () => {
    const inp = syntheticInput(300, new Map(), 3);
    const doc = renderDocumentText(inp);
    assert.equal(doc, twoPass(inp));
    for (let i = 0; i < 16; i++) assert.ok(doc.includes(`"table":"svcplane-${i.toString(16).padStart(2, '0')}"`), `shard ${i} holds a Service`);
  });
});
