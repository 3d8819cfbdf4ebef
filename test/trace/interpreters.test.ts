// Each backend's trace interpreter on documents rendered from the shared feature
// table: what a new connection does, per backend (cases.ts says where the modes differ).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceRendered } from '../../src/trace/index.js';
import { features } from '../helpers/features.js';
import { CASES, expected, type BackendName } from './cases.js';

const BACKENDS: readonly BackendName[] = ['nftables', 'iptables', 'ipvs'];

for (const backend of BACKENDS) {
  describe(`trace: ${backend} interpreter`, () => {
    for (const c of CASES) {
      it(c.name, () => {
        const input = features[c.feature];
        assert.ok(input, `no feature ${c.feature}`);
        const r = traceRendered(backend, input, c.packet);
        const want = expected(c, backend);
        const msg = `${backend} ${JSON.stringify(c.packet)}:\n${r.path.join('\n')}`;
        assert.equal(r.verdict, want.verdict, msg);
        if (want.endpoints) assert.deepEqual(r.endpoints, want.endpoints, msg);
        if (want.masquerade !== undefined) assert.equal(r.masquerade, want.masquerade, msg);
        assert.ok(r.path.length > 0);
      });
    }
  });
}
