// An incremental sync in batches (sync-batches.ts): each batch's input holds the held
// Services as the last sync made them, and the pending-changes gauges keep them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { withHeldBack } from '../../src/agent/sync-batches.js';
import type { Syncer } from '../../src/backends/syncer.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { serializePlan } from '../../src/model/plan.js';
import { ep, input, plan, port, slice, sliceManifest, svc } from '../helpers/model.js';
import { waitFor } from './helpers.js';

const TIMEOUT = { timeout: 120_000 };

test('withHeldBack: held Services and their slices as the last sync had them, others new, order kept', TIMEOUT, () => {
  const applied = input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80)] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80)] }), svc({ name: 'gone', clusterIPs: ['10.96.0.3'], ports: [port(80)] })],
    [slice('a', [ep('10.244.1.1')], [{ port: 80 }]), slice('b', [ep('10.244.1.2')], [{ port: 80 }]), slice('gone', [ep('10.244.1.3')], [{ port: 80 }])],
  );
  const next = input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(81)] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(81)] }), svc({ name: 'new', clusterIPs: ['10.96.0.4'], ports: [port(80)] })],
    [slice('a', [ep('10.244.1.11')], [{ port: 81 }]), slice('b', [ep('10.244.1.12')], [{ port: 81 }]), slice('new', [ep('10.244.1.4')], [{ port: 80 }])],
  );
  const held = withHeldBack(next, applied, new Set(['default/b', 'default/gone', 'default/new']));
  assert.deepEqual(
    held.plan.services.map((s) => [s.name, s.ports[0]!.port]),
    [['a', 81], ['b', 80], ['gone', 80]],
    'a new; b and gone as applied (sorted); new not yet',
  );
  assert.deepEqual(held.endpointSlices.map((s) => s.endpoints[0]!.address).sort(), ['10.244.1.11', '10.244.1.2', '10.244.1.3']);
  assert.equal(withHeldBack(next, applied, new Set()), next);
});

test('withHeldBack: held Services whose object is the same in both inputs (endpoints changed) keep next\'s very Service list; slices held by namespace and name', TIMEOUT, () => {
  const a = svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80)] });
  const b = svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80)] });
  // A Service of the same name in another namespace is not held.
  const b2 = svc({ name: 'b', namespace: 'other', clusterIPs: ['10.96.0.3'], ports: [port(80)] });
  const applied = input([a, b, b2], [slice('a', [ep('10.244.1.1')], [{ port: 80 }]), slice('b', [ep('10.244.1.2')], [{ port: 80 }]), { ...slice('b', [ep('10.244.2.2')], [{ port: 80 }]), namespace: 'other' }]);
  const next = input([a, b, b2], [slice('a', [ep('10.244.1.11')], [{ port: 80 }]), slice('b', [ep('10.244.1.12')], [{ port: 80 }]), { ...slice('b', [ep('10.244.2.12')], [{ port: 80 }]), namespace: 'other' }]);
  const held = withHeldBack(next, applied, new Set(['default/b']));
  assert.equal(held.plan, next.plan, 'the Service list is next\'s own: the syncers\' map of Services stays');
  assert.deepEqual(held.endpointSlices.map((s) => `${s.namespace}/${s.serviceName}=${s.endpoints[0]!.address}`).sort(), [
    'default/a=10.244.1.11',
    'default/b=10.244.1.2',
    'other/b=10.244.2.12',
  ]);
  // The same name held in the other namespace only: default/b is new, other/b as applied.
  const other = withHeldBack(next, applied, new Set(['other/b']));
  assert.deepEqual(other.endpointSlices.map((s) => `${s.namespace}/${s.serviceName}=${s.endpoints[0]!.address}`).sort(), [
    'default/a=10.244.1.11',
    'default/b=10.244.1.12',
    'other/b=10.244.2.2',
  ]);
});

test('a plan change of 2 Services with maxServicesPerSync 1: two syncs, the held one unchanged in the first, its change still pending', TIMEOUT, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-batches-'));
  const writePlan = (p: number) =>
    writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(p)] }), svc({ name: 'api', clusterIPs: ['10.96.0.11'], ports: [port(p)] })])));
  writePlan(80);
  writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceManifest('web', ['10.244.1.10'])));
  const metrics = createAgentMetrics({ backend: 'nftables' });
  const calls: { full: boolean; changed: string[]; ports: string[]; pending: number }[] = [];
  const rules: Syncer = {
    backend: 'fake',
    async sync(inp, req) {
      const pending = (await metrics.serviceChangesPending.get()).values[0]?.value ?? -1;
      calls.push({ full: req.full, changed: [...req.changed].sort(), ports: inp.plan.services.map((s) => `${s.name}:${s.ports[0]!.port}`), pending });
      return { full: req.full, changes: 1 };
    },
  };
  const agent = new Agent({
    backend: 'nftables',
    mode: 'coexist',
    nodeName: 'node1',
    planFile: join(dir, 'plan.json'),
    endpointsFiles: [join(dir, 'web.json')],
    config: { ...DEFAULT_PROXY_CONFIG, syncPeriodSeconds: 3600, minSyncPeriodSeconds: 0.05 },
    log: pino({ level: 'silent' }),
    rules,
    localAddresses: async () => ['172.18.0.1'],
    conntrack: async () => [],
    filePollMs: 50,
    metrics,
    maxServicesPerSync: 1,
  });
  await agent.start();
  try {
    await waitFor('the first sync', () => calls.length === 1);
    writePlan(81);
    await waitFor('two more syncs', () => calls.length === 3);
    assert.deepEqual(calls.slice(1), [
      { full: false, changed: ['default/api'], ports: ['api:81', 'web:80'], pending: 1 },
      { full: false, changed: ['default/web'], ports: ['api:81', 'web:81'], pending: 0 },
    ]);
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
