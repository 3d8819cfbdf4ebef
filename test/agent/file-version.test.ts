// The endpoint files' version fields (file-version.ts): every change the old
// `ino:size:mtimeMs` string told apart is still told apart, to the mtime's last bit.

import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { test } from 'node:test';
import { FileVersion } from '../../src/agent/file-version.js';

class Version extends FileVersion {}

/** The fields of Stats a version reads. */
const stats = (ino: number, size: number, mtimeMs: number) => ({ ino, size, mtimeMs }) as Stats;

/** The double right above `x` (its last mantissa bit flipped up). */
function nextDouble(x: number): number {
  const d = new Float64Array([x]);
  const u = new BigUint64Array(d.buffer);
  u[0]! += 1n;
  return d[0]!;
}

test('FileVersion: same inode, size and mtime is the same version; any one of them moved is not', () => {
  const mtime = 1796647255997.1235;
  const v = new Version(stats(1234, 300, mtime));
  assert.equal(v.sameVersion(stats(1234, 300, mtime)), true);
  assert.equal(v.sameVersion(stats(1234, 300, mtime + 1)), false, 'same size, new mtime');
  assert.equal(v.sameVersion(stats(1234, 300, nextDouble(mtime))), false, "same size, mtime moved by its last bit (sub-microsecond)");
  assert.equal(v.sameVersion(stats(1234, 301, mtime)), false, 'same mtime, new size');
  assert.equal(v.sameVersion(stats(1235, 300, mtime)), false, 'replaced inode');
  // Each field moved where the string told it apart: the string and the fields agree.
  const key = (s: Stats) => `${s.ino}:${s.size}:${s.mtimeMs}`;
  const all = [stats(1234, 300, mtime), stats(1234, 300, mtime + 1), stats(1234, 300, nextDouble(mtime)), stats(1234, 301, mtime), stats(1235, 300, mtime)];
  for (const a of all) for (const b of all) assert.equal(new Version(a).sameVersion(b), key(a) === key(b), `${key(a)} / ${key(b)}`);
});

test('FileVersion: inodes, sizes and mtimes past 32 bits, 0 and negative mtimes compare exactly', () => {
  const cases = [stats(2 ** 40 + 3, 2 ** 33, 0), stats(2 ** 40 + 4, 2 ** 33, 0), stats(7, 0, -1.5), stats(7, 0, -1.25), stats(7, 2 ** 33 + 1, 4102444800000.5)];
  for (const [i, a] of cases.entries()) for (const [j, b] of cases.entries()) assert.equal(new Version(a).sameVersion(b), i === j);
});
