import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertGolden, lineDiff } from './golden.js';

test('lineDiff shows only the changed region with context, numbered as in the golden', () => {
  const golden = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n');
  const actual = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h'].join('\n');
  assert.equal(lineDiff(golden, actual), ['@@ golden line 5: 1 line(s) -> 1 line(s) @@', '  b', '  c', '  d', '- e', '+ E', '  f', '  g', '  h'].join('\n'));
});

test('lineDiff of an insertion shows no removed lines', () => {
  assert.equal(lineDiff('x\ny', 'x\nnew\ny'), ['@@ golden line 2: 0 line(s) -> 1 line(s) @@', '  x', '+ new', '  y'].join('\n'));
});

test('assertGolden fails with the diff, and UPDATE_GOLDEN is refused under CI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'golden-'));
  const saved = { u: process.env.UPDATE_GOLDEN, ci: process.env.CI };
  try {
    const path = join(dir, 'g.txt');
    writeFileSync(path, 'one\ntwo\n');
    assertGolden(path, 'one\ntwo\n');
    assert.throws(() => assertGolden(path, 'one\nTWO\n'), (e: Error) => e.message.includes('- two') && e.message.includes('+ TWO'));
    process.env.UPDATE_GOLDEN = '1';
    process.env.CI = 'true';
    assert.throws(() => assertGolden(path, 'changed\n'), /refused under CI/);
    assert.equal(readFileSync(path, 'utf8'), 'one\ntwo\n');
    delete process.env.CI;
    assertGolden(path, 'changed\n');
    assert.equal(readFileSync(path, 'utf8'), 'changed\n');
  } finally {
    if (saved.u === undefined) delete process.env.UPDATE_GOLDEN;
    else process.env.UPDATE_GOLDEN = saved.u;
    if (saved.ci === undefined) delete process.env.CI;
    else process.env.CI = saved.ci;
    rmSync(dir, { recursive: true, force: true });
  }
});
