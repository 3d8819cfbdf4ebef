// Validating Services and EndpointSlices as they are read (load.ts, input-reads.ts) must
// give exactly what collecting the raw objects gives: the same plan, slices, node,
// warnings and errors in the same order, the same skipped Services.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { loadInputs } from '../../src/manifests/load.js';
import { flattenList } from '../../src/manifests/read.js';

const FILE = join(import.meta.dirname, 'fixtures/list/problems.json');

function rawDocuments() {
  return flattenList({ object: JSON.parse(readFileSync(FILE, 'utf8')), file: FILE, document: 1, source: `${FILE}#1` });
}

test('a List with refused, duplicate, clashing, ignored, FQDN and orphan objects: read as it is loaded = collected raw', async () => {
  for (const strict of [false, true]) {
    const opts = { strict, purpose: 'forwarding' as const, nodeIPs: ['192.168.50.1'] };
    const loaded = await loadInputs([FILE], opts).then((r) => r, (e: Error) => e);
    let raw: unknown;
    try {
      raw = collectInputs(rawDocuments(), opts);
    } catch (e) {
      raw = e;
    }
    assert.deepEqual(loaded, raw, `strict ${strict}`);
  }
  const r = await loadInputs([FILE], { strict: false, nodeIPs: ['192.168.50.1'] });
  // The fixture does exercise every path: errors and warnings of each kind.
  assert.equal(r.errors.length, 8);
  assert.equal(r.warnings.length, 5);
  assert.deepEqual(r.skippedServices, ['default/\u001bevil', 'ns/a', 'ns/b', 'ns/c']);
});

test('authoring reads Services only once the other inputs are known: the same as collecting raw', async () => {
  const opts = { strict: false, purpose: 'authoring' as const, nodeIPs: ['192.168.50.1'] };
  assert.deepEqual(await loadInputs([FILE], opts), collectInputs(rawDocuments(), opts));
});
