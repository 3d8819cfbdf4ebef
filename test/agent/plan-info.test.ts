// Which plan an agent names (src/agent/plan-info.ts): the plan's digest and revision,
// or, without a plan (API mode), the digest of its configuration and no revision.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configzBody } from '../../src/agent/configz.js';
import { planIdentity } from '../../src/agent/plan-info.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { planDigest } from '../../src/model/plan.js';
import { plan, port, svc } from '../helpers/model.js';

const cfg = (syncPeriodSeconds: number) => ({ backend: 'nftables', mode: 'replace', configz: configzBody({ mode: 'nftables', config: { ...DEFAULT_PROXY_CONFIG, syncPeriodSeconds } }) });

test('a plan: its digest (computed when the file had none) and its revision', () => {
  const p = plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })]);
  assert.deepEqual(planIdentity(p, cfg(30)), { digest: planDigest(p), revision: '', source: 'plan' });
  assert.deepEqual(planIdentity({ ...p, revision: 'abc', digest: planDigest(p) }, cfg(30)), { digest: planDigest(p), revision: 'abc', source: 'plan' });
});

test('API mode without a plan: the digest of the configuration, the same for nodes configured alike', () => {
  const a = planIdentity(undefined, cfg(30));
  assert.equal(a.source, 'config');
  assert.equal(a.revision, '');
  assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(planIdentity(undefined, cfg(30)).digest, a.digest);
  assert.notEqual(planIdentity(undefined, cfg(60)).digest, a.digest);
  assert.notEqual(planIdentity(undefined, { ...cfg(30), mode: 'coexist' }).digest, a.digest);
});
