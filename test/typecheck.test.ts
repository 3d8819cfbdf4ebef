// The tests and the benches run under tsx, which strips types without checking them, and
// `npm run build` checks src/ alone: without this, a type error in a test or a bench went
// unseen, and so did the type-level checks some tests make (registry.test.ts's `satisfies`
// lists of every backend member had fallen behind two new members). tsc over both projects.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

function tsc(project: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', project], { cwd: REPO, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

for (const project of ['test/tsconfig.json', 'bench/tsconfig.json']) {
  test(`${project} type-checks`, async () => {
    const r = await tsc(project);
    assert.equal(r.code, 0, `tsc -p ${project} found errors:\n${r.output}`);
  });
}
