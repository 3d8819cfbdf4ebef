import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { holdOptimizer, largeInputAtStart, LARGE_PLAN_BYTES, MANY_ENDPOINT_FILES, optimizerHeld, releaseOptimizer } from '../../src/agent/jit-policy.js';

// The policy is process-wide (one V8 flag): the tests run in this order, and leave the
// optimizer on.

test('SVCPLANE_AGENT_JIT=eager leaves the optimizer on', () => {
  holdOptimizer({ SVCPLANE_AGENT_JIT: 'eager' });
  assert.equal(optimizerHeld(), false);
  assert.equal(releaseOptimizer(), false, 'nothing to release');
});

test('held at start, released once and for good', () => {
  holdOptimizer({});
  assert.equal(optimizerHeld(), true);
  assert.equal(releaseOptimizer(), true);
  assert.equal(optimizerHeld(), false);
  assert.equal(releaseOptimizer(), false, 'a second release changes nothing');
  holdOptimizer({});
  assert.equal(optimizerHeld(), false, 'not held again once released');
});

test('large input is seen before it is read: a large plan file, or many endpoint files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'svp-jit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const small = join(dir, 'small.json');
  await writeFile(small, '{}');
  const eps = join(dir, 'endpoints');
  await mkdir(eps);
  await writeFile(join(eps, 'a.json'), '{}');
  assert.equal(await largeInputAtStart(small, [eps]), undefined, 'a small plan and one file');
  assert.equal(await largeInputAtStart(undefined, [small]), undefined, 'an endpoint path that is a file');
  assert.equal(await largeInputAtStart(join(dir, 'missing.json'), [join(dir, 'missing')]), undefined, 'what cannot be read is the loaders\' to report');

  const large = join(dir, 'large.json');
  await writeFile(large, 'x'.repeat(LARGE_PLAN_BYTES + 1));
  assert.match((await largeInputAtStart(large, [])) ?? '', /^plan of \d+ bytes$/);

  await Promise.all(Array.from({ length: MANY_ENDPOINT_FILES }, (_, i) => writeFile(join(eps, `s${i}.json`), '{}')));
  assert.equal(await largeInputAtStart(small, [eps]), `${MANY_ENDPOINT_FILES + 1} endpoint files`);
});
