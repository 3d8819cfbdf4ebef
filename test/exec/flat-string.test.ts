// flat-string.ts: the same text, held in fewer bytes than the concatenation it came from
// (a file's version is kept per file twice for the agent's life: issue 16 §1), and a part
// of a tool's output kept without the chunk it was cut from.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FlatStrings, flatString } from '../../src/exec/flat-string.js';

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

  it('keeps a part cut from a large chunk (a line of a tool\'s output) without the chunk', () => {
    // 200 chunks of 64 kB, as a pipe gives them; from each, one label of ~30 characters is kept.
    const kept = (keep: (s: string) => string) => {
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      const held: string[] = [];
      for (let i = 0; i < 200; i++) {
        const chunk = `${'x'.repeat(65536)}${i}`;
        held.push(keep(chunk.slice(1000, 1030)));
      }
      collectGarbage();
      assert.equal(held.length, 200);
      return process.memoryUsage().heapUsed - before;
    };
    const sliced = kept((s) => s);
    const flat = kept(flatString);
    assert.ok(sliced > 200 * 65536 * 0.9, `the slices keep their chunks: ${(sliced / 1e6).toFixed(1)} MB`);
    assert.ok(flat < 200 * 1024, `the copies keep ${flat} bytes`);
  });
});

describe('FlatStrings', () => {
  it('one flat copy per distinct value: parts of 200 chunks naming 2 values keep none of the chunks', () => {
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const strings = new FlatStrings();
    const held: string[] = [];
    for (let i = 0; i < 200; i++) {
      const chunk = `${'x'.repeat(65536)}${i % 2 ? 'default-namespace' : 'kube-system-tools'} rest`;
      const name = chunk.slice(65536, chunk.indexOf(' '));
      held.push(strings.of(name));
    }
    collectGarbage();
    assert.deepEqual([...new Set(held)].sort(), ['default-namespace', 'kube-system-tools']);
    assert.equal(held[0], held[2]);
    const kept = process.memoryUsage().heapUsed - before;
    assert.ok(kept < 2e6, `kept ${kept} bytes (the 200 chunks are 13 MB)`);
  });
});

