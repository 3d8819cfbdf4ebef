// The file watch's fingerprint (one map updated in place): each walk names the files
// added, changed and removed since the last one, and nothing when nothing changed.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DIR, Fingerprint } from '../../src/agent/fingerprint.js';

const TIMEOUT = { timeout: 60_000 };

/** Runs `body` with a fresh temporary folder (`f(name)`: a path in it, `a.json` and `b.json` written), removed after. */
async function inFolder(prefix: string, body: (dir: string, f: (n: string) => string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const f = (n: string) => join(dir, n);
    writeFileSync(f('a.json'), '{}');
    writeFileSync(f('b.json'), '{}');
    await body(dir, f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Fingerprint.update names what was added, changed and removed since the last walk, in one map', TIMEOUT, () =>
  inFolder('svcplane-fingerprint-', async (dir, f) => {
    mkdirSync(f('sub'));
    writeFileSync(f('sub/c.json'), '{}');
    writeFileSync(f('.hidden'), 'x');
    const fp = new Fingerprint();
    const first = await fp.update([dir]);
    assert.deepEqual(first.map((c) => c.path), [dir, f('a.json'), f('b.json'), f('sub'), f('sub/c.json')], 'everything, in name order, dot-files left out');
    assert.ok(first.every((c) => c.before === undefined));
    assert.equal(first.find((c) => c.path === f('sub'))!.after, DIR);

    // Nothing changed, twice (each walk flips the mark: a stale mark must not read as removed).
    assert.deepEqual(await fp.update([dir]), []);
    assert.deepEqual(await fp.update([dir]), []);

    writeFileSync(f('a.json'), '{"changed": true}');
    unlinkSync(f('b.json'));
    writeFileSync(f('d.json'), '{}');
    const later = new Date(Date.now() + 5000);
    utimesSync(f('sub/c.json'), later, later);
    const changes = await fp.update([dir]);
    const byPath = new Map(changes.map((c) => [c.path, c]));
    assert.deepEqual([...byPath.keys()].sort(), [f('a.json'), f('b.json'), f('d.json'), f('sub/c.json')]);
    assert.equal(byPath.get(f('b.json'))!.after, undefined, 'removed');
    assert.equal(byPath.get(f('d.json'))!.before, undefined, 'added');
    assert.notEqual(byPath.get(f('a.json'))!.before, byPath.get(f('a.json'))!.after);
    assert.equal(fp.size, 5, 'one entry per path: the removed one is gone');

    rmSync(f('sub'), { recursive: true });
    assert.deepEqual((await fp.update([dir])).map((c) => [c.path, c.before === DIR, c.after]), [[f('sub'), true, undefined], [f('sub/c.json'), false, undefined]]);
    // A watched path that is gone is itself a version: missing.
    rmSync(f('a.json'));
    assert.deepEqual((await fp.update([f('a.json')])).find((c) => c.path === f('a.json'))?.after, 'missing');
  }),
);

test('Fingerprint: paths given twice or inside another given one still name each change and removal', TIMEOUT, () =>
  inFolder('svcplane-fingerprint-overlap-', async (dir, f) => {
    const fp = new Fingerprint();
    const paths = [dir, f('a.json'), dir];
    assert.deepEqual(new Set((await fp.update(paths)).map((c) => c.path)), new Set([dir, f('a.json'), f('b.json')]));
    assert.deepEqual(await fp.update(paths), []);
    writeFileSync(f('a.json'), '{"changed": true}');
    unlinkSync(f('b.json'));
    const changes = await fp.update(paths);
    assert.deepEqual(new Set(changes.map((c) => c.path)), new Set([f('a.json'), f('b.json')]));
    assert.equal(changes.find((c) => c.path === f('b.json'))!.after, undefined, 'removed');
    assert.equal(fp.size, 2);
  }),
);

test('Fingerprint: a file removed and another added in one walk (as many paths as before) are both named', TIMEOUT, () =>
  inFolder('svcplane-fingerprint-swap-', async (dir, f) => {
    const fp = new Fingerprint();
    await fp.update([dir]);
    unlinkSync(f('a.json'));
    writeFileSync(f('c.json'), '{}');
    const changes = await fp.update([dir]);
    assert.deepEqual(changes.map((c) => [c.path, c.before === undefined, c.after === undefined]).sort(), [[f('a.json'), false, true], [f('c.json'), true, false]]);
    assert.equal(fp.size, 3);
    assert.deepEqual(await fp.update([dir]), []);
  }),
);
