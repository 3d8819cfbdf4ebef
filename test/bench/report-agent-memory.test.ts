// The Agent memory section says which steps gave no row and why, instead of leaving them out silently.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentMemorySection } from '../../bench/report-agent-memory.js';

test('agent memory: a step not run is listed with its reason; nothing at all writes no section', () => {
  const L: string[] = [];
  agentMemorySection(L, [], [{ backend: 'iptables', source: 'offline', services: 10000, why: 'iptables-restore alone did not load 10000 Services x 10 within 60 s in this run' }]);
  assert.ok(L.includes('## Agent memory'));
  assert.ok(L.some((l) => /^- 10k iptables offline: not measured — iptables-restore alone did not load/.test(l)), L.join('\n'));
  const none: string[] = [];
  agentMemorySection(none, [], []);
  assert.deepEqual(none, []);
});
