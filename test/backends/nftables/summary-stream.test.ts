// The resync's summary counted as the listings stream (summarySink, readLiveSummary):
// the same counts as parsing each listing whole (parseSummary), wherever the text is cut.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NftListingStream } from '../../../src/backends/nftables/listing-stream.js';
import { parseSummary, summarySink, type NftSummary } from '../../../src/backends/nftables/summary.js';
import { readLiveSummary } from '../../../src/backends/nftables/apply.js';
import { FakeExec } from '../../../src/exec/fake.js';

const listing = (items: Record<string, unknown>[]) => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, ...items] });
const chains = listing([
  { chain: { family: 'ip', table: 'svcplane', name: 'services', handle: 1 } },
  { chain: { family: 'ip', table: 'svcplane', name: 'svc-a "quoted" {x}', handle: 2 } },
  { chain: { family: 'ip', table: 'svcplane-03', name: 'nat-prerouting', handle: 3, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
  { chain: { family: 'ip6', table: 'svcplane', name: 'services', handle: 1 } },
  { chain: { family: 'ip', table: 'kube-proxy', name: 'services', handle: 4 } },
]);
const sets = listing([
  { set: { family: 'ip', table: 'svcplane', name: 'cluster-ips', type: 'ipv4_addr', handle: 5 } },
  { set: { family: 'ip', table: 'filter', name: 'x', type: 'ipv4_addr', handle: 6 } },
]);
const maps = listing([{ map: { family: 'ip', table: 'svcplane-03', name: 'service-ips', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', handle: 7 } }]);

test('summarySink counts as parseSummary does, wherever the listing is cut', () => {
  const want = parseSummary(chains, sets, maps);
  for (const size of [1, 5, 97, 100_000]) {
    const s: NftSummary = new Map();
    for (const [kind, text] of [['chain', chains], ['set', sets], ['map', maps]] as const) {
      const reader = new NftListingStream(summarySink(s, kind));
      for (let i = 0; i < text.length; i += size) reader.push(text.slice(i, i + size));
      reader.end();
    }
    assert.deepEqual(s, want, `pieces of ${size}`);
  }
});

test('readLiveSummary streams the three listings and fails when nft does', async () => {
  const exec = new FakeExec();
  exec.on('nft', ['-j', 'list', 'chains'], { stdout: chains });
  exec.on('nft', ['-t', '-j', 'list', 'sets'], { stdout: sets });
  exec.on('nft', ['-t', '-j', 'list', 'maps'], { stdout: maps });
  assert.deepEqual(await readLiveSummary(undefined, exec), parseSummary(chains, sets, maps));
  const failing = new FakeExec();
  failing.on('nft', ['-j', 'list', 'chains'], { exitCode: 1, stderr: 'Error: no permission' });
  failing.on('nft', ['-t'], { stdout: sets });
  await assert.rejects(readLiveSummary(undefined, failing));
});
