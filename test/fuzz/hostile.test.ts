// Property 4: hostile strings (quotes, newlines, backslashes, NUL, `#`, `;`, `-A`,
// unicode, names at and past the API's length limits) in names, namespaces, port
// names, labels, annotations, zones, node names and interface names either are
// refused with an error naming the object and the field, or change nothing but
// names: the rendered rules with comments stripped and names normalised are
// exactly those of the same scenario with a benign value in that slot, and the
// documents still pass the kernel tools (the comment cannot break out).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { documentSection } from '../../src/backends/iptables/document.js';
import { ipvsToolCheck } from '../helpers/ipvs-check.js';
import { nftCheck } from '../helpers/nft-check.js';
import { withNetns } from '../backends/iptables/netns.js';
import { SLOTS, hostileString, type Slot } from './arbitraries/hostile.js';
import { scenarioOf, validWorld, type ValidWorld } from './arbitraries/valid.js';
import { collect, inputErrorOr, renderAll } from './pipeline.js';
import { fuzzParams } from './runs.js';

const PLACEHOLDER = '\u0001NAME\u0001';

/**
 * The rules of a document as its sorted distinct lines: comments out, the slot's
 * value and hashed names abstracted. Distinct, because a name's hash picks the
 * nftables shard table, and two Services sharing a shard need one table skeleton
 * where two shards need two.
 */
function normalise(doc: string, value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  return doc
    .split(escaped).join(PLACEHOLDER)
    .split(value).join(PLACEHOLDER)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) =>
      l
        .replace(/,"comment":"(?:[^"\\]|\\.)*"/g, '')
        .replace(/-m comment --comment ("[^"]*"|\S+) ?/g, '')
        .replace(/\bSVP-([A-Z]+)-[A-Z2-7]{16}\b/g, 'SVP-$1-#')
        // nftables may spread Services over tables by a hash of namespace/name.
        .replace(/"svcplane-[0-9a-f]+"/g, '"svcplane-#"')
        // nft's JSON lines end in a comma, but the last one.
        .replace(/,$/, ''),
    )
    .filter((l) => !isShardSkeleton(l))
    .sort()
    .filter((l, i, sorted) => l !== sorted[i - 1]);
}

/**
 * nftables spreads Services over shard tables by a hash of namespace/name, so which
 * shard tables exist, and what each one's furniture holds, follows the names. Lines of
 * shard tables are compared only where they carry the slot's value (its Service's
 * chains and elements); the main table, iptables and IPVS are compared whole.
 */
function isShardSkeleton(line: string): boolean {
  return line.includes('"table":"svcplane-#"') && !line.includes(PLACEHOLDER);
}

interface HostileCase {
  readonly world: ValidWorld;
  readonly slot: Slot;
  readonly value: string;
}

const hostileCase: fc.Arbitrary<HostileCase> = fc
  .tuple(validWorld, fc.constantFrom(...SLOTS), hostileString)
  .filter(([w, slot, value]) => slot.apply(w, value) !== undefined && value !== slot.benign)
  .map(([world, slot, value]) => ({ world, slot, value }));

/** Only the cases validation lets through: those are the ones whose documents must still parse. */
const acceptedHostileCase = hostileCase.filter((c) => 'value' in inputErrorOr(() => collect(scenarioOf(c.slot.apply(c.world, c.value)!), true, 'iptables')));

/** Refused with a named error, or rendered as the benign scenario renders; the documents, when `check`, go to the tools. */
function assertHarmless(c: HostileCase): Map<string, string> | undefined {
  const hostile = inputErrorOr(() => renderAll(scenarioOf(c.slot.apply(c.world, c.value)!)));
  if ('error' in hostile) {
    const e = hostile.error;
    assert.ok(e.ref, `the error names no object: ${e.message}`);
    assert.ok(
      e.issues.some((i) => c.slot.fields.some((f) => i.field.startsWith(f))),
      `${c.slot.name} := ${JSON.stringify(c.value)}: the error names none of ${c.slot.fields.join(', ')}: ${e.message}`,
    );
    return undefined;
  }
  const benign = renderAll(scenarioOf(c.slot.apply(c.world, c.slot.benign)!));
  for (const [backend, doc] of hostile.value) {
    const b = benign.get(backend)!;
    // A value that also occurs in the benign document cannot be told from the rest of it.
    if (c.value.length < 3 || b.includes(c.value) || b.includes(JSON.stringify(c.value).slice(1, -1))) continue;
    assert.deepEqual(normalise(doc, c.value), normalise(b, c.slot.benign), `${backend}: ${c.slot.name} := ${JSON.stringify(c.value)} changed the rules`);
  }
  return hostile.value;
}

describe('fuzz: hostile strings never change the rules', () => {
  it('are refused with a named error, or render the same rules as a benign name', () => {
    fc.assert(fc.property(hostileCase, (c) => void assertHarmless(c)), fuzzParams(600));
  });

  it('accepted ones leave documents that nft -c, *-restore --test and ipset accept', async () => {
    await withNetns(async (ns) => {
      await fc.assert(
        fc.asyncProperty(acceptedHostileCase, async (c) => {
          const docs = assertHarmless(c)!;
          const nft = await nftCheck(docs.get('nftables')!);
          assert.ok(nft.ok, `nft -c refused the document: ${nft.stderr}`);
          for (const f of ['IPv4', 'IPv6'] as const) await ns.run.restore(f, documentSection(docs.get('iptables')!, f), true);
          assert.deepEqual(await ipvsToolCheck(docs.get('ipvs')!), []);
        }),
        fuzzParams(15),
      );
    });
  });
});
