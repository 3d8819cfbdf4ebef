// child-run.ts: the parts of a run system-exec.test.ts does not reach through systemExec
// (its output cap is 1 GiB).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChild } from '../../src/exec/child-run.js';

const node = (script: string) => ({ file: process.execPath, args: ['-e', script], stdin: 'ignore' as const });

test('output past maxBuffer kills the tool and fails the run, naming the cap', async () => {
  const r = await runChild({ ...node('process.stdout.write("x".repeat(1 << 20)); setInterval(() => {}, 1000)'), maxBuffer: 1000 });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr, 'output over 1000 bytes');
});

test('stdout and stderr are whole, UTF-8 across chunks, with one final newline stripped', async () => {
  const text = 'é€'.repeat(100_000);
  const r = await runChild({ ...node('process.stdout.write("é€".repeat(100000) + "\\n\\n"); process.stderr.write("oops\\n")'), maxBuffer: 1 << 30 });
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, `${text}\n`);
  assert.equal(r.stderr, 'oops');
});

test('arguments the system refuses (E2BIG) are exit 1 with the reason, not a throw', async () => {
  const r = await runChild({ file: process.execPath, args: ['-e', 'x'.repeat(1 << 22)], stdin: 'ignore', maxBuffer: 1000 });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /E2BIG/);
});

test('a tool killed by a signal is exit 1, and says so when it wrote nothing on stderr', async () => {
  const r = await runChild({ ...node('process.kill(process.pid, "SIGKILL")'), maxBuffer: 1000 });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr, 'killed by SIGKILL');
});
