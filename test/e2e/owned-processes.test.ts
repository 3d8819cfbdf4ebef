// The process registry (lib/processes.ts) keeps a failed test from holding `npm test`: a
// test file that fails half way with a probe, a traffic loop and a SIGTERM-proof server
// still running in a namespace already deleted (fixtures/leftover-processes.ts) must end
// by itself, and none of those processes may survive it. Before the registry, such a file
// stayed alive until killed by hand (11 minutes, issue 15 §6).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { requireTools } from './lib/preflight.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/leftover-processes.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * Generous: tsx's start, a namespace, the probe, and the 5 s SIGTERM grace of the stubborn
 * server take ~10 s here; a file kept alive by its leftovers never ends at all.
 */
const BOUND_MS = 180_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('owned processes: a failed test file does not stay alive', { timeout: BOUND_MS + 60_000 }, () => {
  it('the runner exits, reports the failure and the leftovers it stopped, and no child pid survives', async () => {
    await requireTools(['ip']);
    const dir = mkdtempSync(join(tmpdir(), 'svcplane-leftovers-'));
    try {
      const pidsFile = join(dir, 'pids.json');
      const started = performance.now();
      const res = await execa(process.execPath, ['--import', 'tsx', '--test', FIXTURE], {
        cwd: ROOT,
        reject: false,
        all: true,
        timeout: BOUND_MS,
        // Our own runner's context must not leak in: the fixture runs under a runner of its own.
        env: { NODE_TEST_CONTEXT: undefined, LEFTOVER_PIDS_FILE: pidsFile },
      });
      const took = Math.round(performance.now() - started);
      assert.ok(!res.timedOut, `the fixture's runner was still alive after ${BOUND_MS} ms (killed):\n${res.all}`);
      assert.equal(res.exitCode, 1, `the fixture's test failed, so its runner exits 1 (took ${took} ms):\n${res.all}`);
      assert.match(String(res.all), /deliberate failure/, 'the failure is the deliberate one');
      assert.match(String(res.all), /stopped 3 process\(es\) or loop\(s\) left running/, `the registry says what it stopped:\n${res.all}`);
      const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as number[];
      assert.equal(pids.length, 2, `the probe and the server ran in the namespace: ${JSON.stringify(pids)}`);
      assert.deepEqual(pids.filter(alive), [], 'no process the fixture started survives it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
