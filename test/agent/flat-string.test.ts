// flat-string.ts: the same text, held in fewer bytes than the concatenation it came from
// (a file's version is kept per file twice for the agent's life: issue 16 §1).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { flatString } from '../../src/agent/flat-string.js';

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Heap kept by 20k versions as `keep` makes them, bytes each. */
function keptBytes(keep: (s: string) => string): number {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const held: string[] = [];
  for (let i = 0; i < 20000; i++) held.push(keep(`${4000000 + i}:${300 + (i % 50)}:${1796516358467.123 + i}`));
  collectGarbage();
  const bytes = (process.memoryUsage().heapUsed - before) / held.length;
  assert.equal(held.length, 20000);
  return bytes;
}

describe('flatString', () => {
  it('gives the same text', () => {
    for (const s of ['', 'a', '1:2:3', `${123456789}:${42}:${1796516358467.123}`, 'ünï "q" \\ \n', '\u{1F600}']) assert.equal(flatString(s), s);
  });

  it('holds a file version in well under the bytes of the concatenation it came from', () => {
    const cons = keptBytes((s) => s);
    const flat = keptBytes(flatString);
    assert.ok(flat < cons * 0.8, `flat ${flat.toFixed(0)} bytes a version, concatenated ${cons.toFixed(0)}`);
  });
});
