// The merged Services keep their identity while neither of their sources changed
// (input-merge.ts): the nftables syncer holds the Service objects it rendered.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeServices } from '../../src/agent/input-merge.js';
import { port, svc } from '../helpers/model.js';

test('merge: the same plan and API objects give the same merged object; a new API object a new one', () => {
  const planned = [svc({ name: 'a', clusterIPs: [], ports: [port(80)] }), svc({ name: 'b', clusterIPs: [], ports: [port(80)] })];
  const api = [svc({ name: 'a', clusterIPs: ['10.96.0.7'], ports: [port(80)] }), svc({ name: 'b', clusterIPs: ['10.96.0.8'], ports: [port(80)] })];
  const first = mergeServices(planned, api, 'coexist');
  const movedB = svc({ name: 'b', clusterIPs: ['10.96.0.9'], ports: [port(80)] });
  const second = mergeServices(planned, [api[0]!, movedB], 'coexist');
  assert.equal(second[0], first[0], 'a: neither source changed');
  assert.notEqual(second[1], first[1]);
  assert.deepEqual(second[1]!.clusterIPs, ['10.96.0.9']);
  assert.deepEqual(first[1]!.clusterIPs, ['10.96.0.8'], 'the earlier merge is left as it was');
});
