// Offline mode's file cache: only changed files are re-read, the Services they touch
// are named, malformed objects are reported once, and a broken file changes nothing.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { EndpointFiles } from '../../src/agent/endpoint-files.js';
import { FileWatch } from '../../src/agent/file-watch.js';
import { isInputError } from '../../src/model/errors.js';

/** A full collection, for WeakRefs to be told apart from live objects. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

function slice(service: string, ips: string[], name = `${service}-a`) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 80, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
  };
}

/** Polls `cond`; the bound is generous (it only matters when the state never comes). */
async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.1' }] } };

describe('EndpointFiles', TIMEOUT, () => {
  let dir: string;
  let eps: string;
  const write = (file: string, obj: unknown) => writeFileSync(join(eps, file), JSON.stringify(obj));
  /** The folder emptied, then these files written (name -> object, as JSON). */
  const onlyFiles = (files: Record<string, unknown> = {}) => {
    rmSync(eps, { recursive: true });
    mkdirSync(eps);
    for (const [file, obj] of Object.entries(files)) write(file, obj);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svp-epfiles-'));
    eps = join(dir, 'eps');
    mkdirSync(eps);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every file once, then only the files that changed, naming the Services they touch', async () => {
    write('a.json', slice('a', ['10.0.0.1']));
    write('b.json', slice('b', ['10.0.0.2']));
    write('c.json', slice('c', ['10.0.0.3']));
    const files = new EndpointFiles([eps]);

    const first = await files.load();
    assert.equal(first.filesRead, 3);
    assert.deepEqual([...first.changed].sort(), ['default/a', 'default/b', 'default/c']);
    assert.deepEqual(first.slices.map((s) => s.serviceName), ['a', 'b', 'c']);

    const same = await files.load();
    assert.equal(same.filesRead, 0);
    assert.equal(same.changed.size, 0);
    // Unchanged files give the very same objects: nothing was parsed again.
    assert.equal(same.slices[0], first.slices[0]);

    write('b.json', slice('b', ['10.0.0.2', '10.0.0.22']));
    const one = await files.load();
    assert.equal(one.filesRead, 1);
    assert.deepEqual([...one.changed], ['default/b']);
    assert.deepEqual(one.slices.find((s) => s.serviceName === 'b')!.endpoints.map((e) => e.address), ['10.0.0.2', '10.0.0.22']);
    assert.equal(one.slices.find((s) => s.serviceName === 'a'), first.slices[0]);

    rmSync(join(eps, 'c.json'));
    const gone = await files.load();
    assert.equal(gone.filesRead, 0);
    assert.deepEqual([...gone.changed], ['default/c']);
    assert.deepEqual(gone.slices.map((s) => s.serviceName), ['a', 'b']);
  });

  it('reports a malformed slice once, keeps its Service as skipped, and names it', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']), 'bad.json': slice('bad', ['999.0.0.1']) });
    const files = new EndpointFiles([eps]);
    const first = await files.load();
    assert.equal(first.errors.length, 1);
    assert.match(first.errors[0]!.message, /EndpointSlice default\/bad-a/);
    assert.match(first.errors[0]!.message, /endpoints\[0\]\.addresses/);
    assert.deepEqual(first.skipped, ['default/bad']);
    assert.deepEqual(first.slices.map((s) => s.serviceName), ['a']);

    const again = await files.load();
    assert.equal(again.errors.length, 0, 'an unchanged file is not reported again');
    assert.deepEqual(again.skipped, ['default/bad']);

    write('bad.json', slice('bad', ['10.0.0.9']));
    const fixed = await files.load();
    assert.deepEqual(fixed.skipped, []);
    assert.deepEqual([...fixed.changed], ['default/bad']);
    assert.deepEqual(fixed.slices.map((s) => s.serviceName), ['a', 'bad']);
  });

  it('loadChanged looks only at the named files: a temporary file is passed over, a removed one dropped', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']), 'b.json': slice('b', ['10.0.0.2']) });
    const files = new EndpointFiles([eps]);
    await files.load();
    write('b.json', slice('b', ['10.0.0.3']));
    write('c.json', slice('c', ['10.0.0.4'])); // not named: not seen yet
    writeFileSync(join(eps, 'b.json.tmp'), 'not a manifest');
    const named = await files.loadChanged([join(eps, 'b.json'), join(eps, 'b.json.tmp')]);
    assert.equal(named.filesRead, 1);
    assert.deepEqual([...named.changed], ['default/b']);
    assert.deepEqual(named.slices.map((s) => s.serviceName), ['a', 'b']);
    rmSync(join(eps, 'a.json'));
    const gone = await files.loadChanged([join(eps, 'a.json')]);
    assert.deepEqual([...gone.changed], ['default/a']);
    // A full load still finds what no event named.
    const full = await files.load();
    assert.deepEqual([...full.changed], ['default/c']);
    assert.deepEqual(full.slices.map((s) => s.serviceName), ['b', 'c']);
  });

  it('a folder watch names the files that changed; a ConfigMap-style ..data swap goes through the full fingerprint', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']) });
    // The ConfigMap layout: b.json -> ..data/b.json, ..data -> ..v1.
    mkdirSync(join(eps, '..v1'));
    writeFileSync(join(eps, '..v1', 'b.json'), JSON.stringify(slice('b', ['10.0.0.2'])));
    symlinkSync('..v1', join(eps, '..data'));
    symlinkSync(join('..data', 'b.json'), join(eps, 'b.json'));
    const named: string[][] = [];
    let full = 0;
    const w = new FileWatch([eps], () => void full++, 60_000, (paths) => named.push(paths));
    await w.start();
    try {
      writeFileSync(join(dir, 'x.tmp'), JSON.stringify(slice('a', ['10.0.0.9'])));
      renameSync(join(dir, 'x.tmp'), join(eps, 'a.json'));
      await until(() => named.length > 0);
      // A second named change: events come in order, so once it is named, anything more the
      // first one caused (another name, a fingerprint of every file) would have come already.
      writeFileSync(join(dir, 'y.tmp'), JSON.stringify(slice('c', ['10.0.0.8'])));
      renameSync(join(dir, 'y.tmp'), join(eps, 'c.json'));
      await until(() => named.flat().includes(join(eps, 'c.json')));
      assert.deepEqual(named.flat(), [join(eps, 'a.json'), join(eps, 'c.json')]);
      assert.equal(full, 0, 'no fingerprint of every file for a named change');
      // The swap: a new version folder, a new ..data link renamed over the old one.
      mkdirSync(join(eps, '..v2'));
      writeFileSync(join(eps, '..v2', 'b.json'), JSON.stringify(slice('b', ['10.0.0.3'])));
      symlinkSync('..v2', join(eps, '..data_tmp'));
      renameSync(join(eps, '..data_tmp'), join(eps, '..data'));
      await until(() => full > 0);
      assert.equal(named.flat().length, 2, 'dot-files are not named');
    } finally {
      w.stop();
    }
  });

  it('a slice defined in two files: the first wins, the second is an error naming both files', async () => {
    onlyFiles({ '1.json': slice('a', ['10.0.0.1']), '2.json': slice('a', ['10.0.0.2']) });
    const r = await new EndpointFiles([eps]).load();
    assert.equal(r.slices.length, 1);
    assert.equal(r.slices[0]!.endpoints[0]!.address, '10.0.0.1');
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!.message, /duplicate EndpointSlice/);
    // Both files by their whole paths, though the cache keys them by name.
    assert.ok(r.errors[0]!.message.includes(join(eps, '1.json')), r.errors[0]!.message);
    assert.ok(r.errors[0]!.message.includes(join(eps, '2.json')), r.errors[0]!.message);
  });

  it("a file's stat alone tells a new version: same size and a new mtime, same mtime and a new size, a replaced inode", async () => {
    onlyFiles();
    const t = new Date('2026-12-07T10:00:00.123Z');
    const put = (ip: string, at: Date, via?: string) => {
      const target = join(eps, 'a.json');
      const to = via ?? target;
      writeFileSync(to, JSON.stringify(slice('a', [ip])));
      utimesSync(to, at, at);
      if (via) renameSync(via, target);
    };
    const files = new EndpointFiles([eps]);
    put('10.0.0.1', t);
    await files.load();
    const address = async (load: Promise<Awaited<ReturnType<EndpointFiles['load']>>>) => {
      const r = await load;
      return [r.filesRead, r.slices[0]!.endpoints[0]!.address];
    };
    put('10.0.0.2', new Date(t.getTime() + 1));
    assert.deepEqual(await address(files.load()), [1, '10.0.0.2'], 'same size, mtime 1 ms later');
    put('10.0.0.33', new Date(t.getTime() + 1));
    assert.deepEqual(await address(files.load()), [1, '10.0.0.33'], 'same mtime, new size');
    put('10.0.0.44', new Date(t.getTime() + 1), join(dir, 'swap.tmp'));
    assert.deepEqual(await address(files.loadChanged([join(eps, 'a.json')])), [1, '10.0.0.44'], 'same size and mtime, a new inode (renamed over)');
    assert.deepEqual(await address(files.load()), [0, '10.0.0.44'], 'nothing moved: nothing read');
  });

  it('keys files by their path under the one folder given: a subfolder keeps its own, a path outside is passed over', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']) });
    mkdirSync(join(eps, 'sub'));
    write(join('sub', 'a.json'), slice('b', ['10.0.0.2']));
    writeFileSync(join(dir, 'outside.json'), JSON.stringify(slice('c', ['10.0.0.3'])));
    const files = new EndpointFiles([eps]);
    const first = await files.load();
    assert.deepEqual(first.slices.map((s) => s.serviceName), ['a', 'b']);
    assert.deepEqual(first.errors, []);
    write(join('sub', 'a.json'), slice('b', ['10.0.0.4']));
    const named = await files.loadChanged([join(eps, 'sub', 'a.json'), join(dir, 'outside.json')]);
    assert.equal(named.filesRead, 1);
    assert.deepEqual([...named.changed], ['default/b']);
    assert.equal((await files.load()).filesRead, 0, 'the named file is the one the walk finds');
    // The subfolder's file defines the other's slice: a duplicate, both named by whole path.
    write(join('sub', 'a.json'), slice('a', ['10.0.0.5']));
    const dup = await files.load();
    assert.equal(dup.errors.length, 1);
    assert.ok(dup.errors[0]!.message.includes(join(eps, 'a.json')) && dup.errors[0]!.message.includes(join(eps, 'sub', 'a.json')), dup.errors[0]!.message);
    assert.equal(dup.slices[0]!.endpoints[0]!.address, '10.0.0.1', 'the first in listing order wins');
    rmSync(join(eps, 'sub'), { recursive: true });
    assert.deepEqual((await files.load()).slices.map((s) => s.serviceName), ['a']);
  });

  it('one file given, or several paths that overlap: each file is one entry, read once', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']), 'b.json': slice('b', ['10.0.0.2']) });
    const one = new EndpointFiles([join(eps, 'a.json')]);
    assert.deepEqual((await one.load()).slices.map((s) => s.serviceName), ['a']);
    write('a.json', slice('a', ['10.0.0.3']));
    const named = await one.loadChanged([join(eps, 'a.json')]);
    assert.deepEqual([named.filesRead, named.slices[0]!.endpoints[0]!.address], [1, '10.0.0.3']);

    const both = new EndpointFiles([eps, join(eps, 'b.json')]);
    const first = await both.load();
    assert.deepEqual([first.filesRead, first.errors.length], [2, 0], 'b.json once, no duplicate');
    assert.deepEqual(first.slices.map((s) => s.serviceName), ['a', 'b']);
    rmSync(join(eps, 'a.json'));
    const gone = await both.load();
    assert.deepEqual([...gone.changed], ['default/a']);
    assert.deepEqual(gone.slices.map((s) => s.serviceName), ['b']);
  });

  it('self-polled: the watch keeps no fingerprint, its poll is the holder\'s own load (awaited, one at a time), folder events still name files', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']) });
    const files = new EndpointFiles([eps]);
    await files.load();
    const named: string[][] = [];
    const reads: number[] = [];
    let running = false;
    let overlapped = false;
    const w = new FileWatch(
      [eps],
      async () => {
        overlapped ||= running;
        running = true;
        reads.push((await files.load()).filesRead);
        running = false;
      },
      5,
      (paths) => named.push(paths),
      true,
    );
    await w.start();
    try {
      assert.deepEqual(reads, [], 'no walk of every file at start: the holder has just read them');
      await until(() => reads.length >= 2);
      // Whole at once (renamed in): a poll never meets it half written.
      writeFileSync(join(dir, 'b.tmp'), JSON.stringify(slice('b', ['10.0.0.2'])));
      renameSync(join(dir, 'b.tmp'), join(eps, 'b.json'));
      await until(() => reads.some((n) => n > 0) && named.flat().includes(join(eps, 'b.json')));
      assert.equal(overlapped, false);
      assert.equal(reads.filter((n) => n > 0).length, 1, 'the new file read once, by a poll');
    } finally {
      w.stop();
    }
  });

  it('a slice a changed file defines again is a duplicate, read on its own as in a whole load', async () => {
    onlyFiles({ '1.json': slice('a', ['10.0.0.1']), '2.json': slice('b', ['10.0.0.2']) });
    const files = new EndpointFiles([eps]);
    await files.load();
    write('2.json', slice('a', ['10.0.0.3']));
    const r = await files.loadChanged([join(eps, '2.json')]);
    assert.deepEqual(
      r.slices.map((s) => s.endpoints[0]!.address),
      ['10.0.0.1'],
    );
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!.message, /duplicate EndpointSlice/);
    // Once the other file gives it up, the change alone takes it.
    write('1.json', slice('c', ['10.0.0.4']));
    const after = await files.loadChanged([join(eps, '1.json')]);
    assert.deepEqual(after.slices.map((s) => `${s.name}:${s.endpoints[0]!.address}`).sort(), ['a-a:10.0.0.3', 'c-a:10.0.0.4']);
    assert.equal(after.errors.length, 0);
  });

  it('keeps nothing of a load once its caller is done with it', async () => {
    onlyFiles();
    for (let i = 0; i < 20; i++) write(`${i}.json`, slice(`s${i}`, [`10.0.1.${i + 1}`]));
    const files = new EndpointFiles([eps]);
    const refs = await (async () => {
      const r = await files.load();
      assert.equal(r.changed.size, 20);
      return [new WeakRef(r.changed), new WeakRef(r.errors)];
    })();
    // WeakRefs hold their targets to the end of the job that made them: collect after it.
    await new Promise((resolve) => setTimeout(resolve, 10));
    collectGarbage();
    assert.deepEqual(
      refs.map((w) => w.deref() === undefined),
      [true, true],
      "the load's changed set and errors are no longer reachable from the EndpointFiles",
    );
    assert.equal((await files.load()).filesRead, 0);
  });

  it('a file that does not parse throws naming it, and the next load still knows the old files', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']) });
    const files = new EndpointFiles([eps]);
    await files.load();
    writeFileSync(join(eps, 'a.json'), '{"apiVersion": ');
    await assert.rejects(files.load(), (e) => isInputError(e) && /a\.json/.test(e.message));
    write('a.json', slice('a', ['10.0.0.5']));
    const r = await files.load();
    assert.deepEqual([...r.changed], ['default/a']);
    assert.equal(r.slices[0]!.endpoints[0]!.address, '10.0.0.5');
  });

  it('a poll (a full load) does not read again, nor throw again for, a file or a folder that failed as it is still', async () => {
    onlyFiles({ 'a.json': slice('a', ['10.0.0.1']), 'b.json': slice('b', ['10.0.0.2']) });
    const files = new EndpointFiles([eps]);
    await files.load();
    writeFileSync(join(eps, 'a.json'), '{"apiVersion": ');
    await assert.rejects(files.load(), (e) => isInputError(e) && /a\.json/.test(e.message));
    const quiet = await files.load();
    assert.deepEqual([quiet.filesRead, quiet.changed.size, quiet.errors.length], [0, 0, 0], 'the broken file, as it was, is passed over');
    assert.equal(quiet.slices.find((s) => s.serviceName === 'a')!.endpoints[0]!.address, '10.0.0.1', 'its last good yield stays');
    write('b.json', slice('b', ['10.0.0.3']));
    const other = await files.load();
    assert.deepEqual([other.filesRead, [...other.changed]], [1, ['default/b']], 'other files still go through');
    writeFileSync(join(eps, 'new.json'), '[');
    await assert.rejects(files.load(), /new\.json/);
    assert.deepEqual((await files.load()).slices.map((s) => s.serviceName), ['a', 'b'], 'a new broken file passed over too');
    write('a.json', slice('a', ['10.0.0.5']));
    const fixed = await files.load();
    assert.deepEqual([fixed.filesRead, [...fixed.changed]], [1, ['default/a']]);
    // The folder itself gone: one error, then quiet, the endpoints kept; back, read again.
    rmSync(join(eps, 'new.json'));
    renameSync(eps, `${eps}.away`);
    await assert.rejects(files.load(), /no such file or folder/);
    assert.deepEqual((await files.load()).slices.map((s) => s.endpoints[0]!.address), ['10.0.0.5', '10.0.0.3']);
    renameSync(`${eps}.away`, eps);
    write('b.json', slice('b', ['10.0.0.6']));
    assert.deepEqual([...(await files.load()).changed], ['default/b']);
  });

  it('takes the Node from the files, by name, with --node-ip applied, and says when it changed', async () => {
    onlyFiles({ 'node.json': node, 'a.json': slice('a', ['10.0.0.1']) });
    const files = new EndpointFiles([eps], { nodeName: 'node1' });
    const first = await files.load();
    assert.deepEqual(first.node?.addresses, ['192.168.1.1']);
    assert.equal(first.nodeChanged, true);
    assert.equal((await files.load()).nodeChanged, false);
    write('node.json', { ...node, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }] } });
    const moved = await files.load();
    assert.equal(moved.nodeChanged, true);
    assert.deepEqual(moved.node?.addresses, ['192.168.1.2']);

    const pinned = await new EndpointFiles([eps], { nodeName: 'node1', nodeIPs: ['10.1.1.1'] }).load();
    assert.deepEqual(pinned.node?.addresses, ['10.1.1.1']);
  });
  it('a change read on its own gives what a fresh load of every file gives (slices, skipped, Node, errors), over random edits', async () => {
    onlyFiles();
    // A small world where edits collide: 10 files, 30 Services, 2 slice names each, a Node
    // file, a malformed slice, the same slice in two files, files removed and added.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const content = (): unknown => {
      const pick = rand(40);
      if (pick === 0) return node;
      if (pick === 1) return { ...slice('bad', ['not-an-ip']) };
      const svc = `s${rand(30)}`;
      return slice(svc, [`10.0.${rand(3)}.${rand(250) + 1}`], `${svc}-${rand(2)}`);
    };
    const files = new EndpointFiles([eps], { nodeName: 'node1' });
    for (let i = 0; i < 8; i++) write(`f${i}.json`, content());
    await files.load();
    const view = (l: Awaited<ReturnType<EndpointFiles['load']>>) => ({ slices: l.slices, skipped: l.skipped, node: l.node, errors: l.errors.map((e) => e.message).sort() });
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      // Mostly one file a round; every fourth round up to five (a burst of events read at once).
      const changed = [...new Set(Array.from({ length: rand(4) === 0 ? 1 + rand(5) : 1 }, () => join(eps, `f${rand(10)}.json`)))];
      for (const f of changed) {
        if (rand(6) === 0) rmSync(f, { force: true });
        else {
          writeFileSync(join(dir, 'x.tmp'), JSON.stringify(content()));
          renameSync(join(dir, 'x.tmp'), f);
        }
      }
      const got = await files.loadChanged(changed);
      const fresh = await new EndpointFiles([eps], { nodeName: 'node1' }).load();
      // Errors: a fresh load reports every file's; a change reports the changed file's and the merge's.
      // With a slice or Node defined twice, which wins follows file order, and files added
      // since the start come last here but in name order in a fresh load: not compared.
      const want = view(fresh);
      if (want.errors.some((m) => m.includes('duplicate'))) continue;
      checked++;
      assert.deepEqual({ ...view(got), errors: [] }, { ...want, errors: [] }, `round ${round}`);
      for (const m of view(got).errors) assert.ok(want.errors.includes(m), `round ${round}: ${m}`);
    }
    assert.ok(checked > 40, `only ${checked} rounds compared`);
  });

  it('many files changed at once, read on their own, give what a fresh load gives; a slice two of them define is a duplicate', async () => {
    onlyFiles();
    for (let i = 0; i < 300; i++) write(`f${String(i).padStart(3, '0')}.json`, slice(`s${i}`, [`10.0.${i >> 7}.${(i & 127) + 1}`]));
    const files = new EndpointFiles([eps]);
    await files.load();
    // 150 files: every other one moved to a new Service (its slice removed, another added), one removed, two new.
    const changed: string[] = [];
    for (let i = 0; i < 300; i += 2) {
      write(`f${String(i).padStart(3, '0')}.json`, slice(`t${i}`, [`10.1.${i >> 7}.${(i & 127) + 1}`]));
      changed.push(join(eps, `f${String(i).padStart(3, '0')}.json`));
    }
    rmSync(join(eps, 'f001.json'));
    write('g1.json', slice('u1', ['10.2.0.1']));
    write('g2.json', slice('a', ['10.2.0.2']));
    changed.push(join(eps, 'f001.json'), join(eps, 'g1.json'), join(eps, 'g2.json'));
    const got = await files.loadChanged(changed);
    const fresh = await new EndpointFiles([eps]).load();
    assert.deepEqual(got.slices.map((s) => s.name), fresh.slices.map((s) => s.name));
    assert.equal(got.slices.length, 300 - 1 + 2);
    assert.deepEqual(got.slices, fresh.slices);
    assert.deepEqual(got.errors, []);
    // Two new files define one slice: a duplicate, as a whole load finds it.
    write('g3.json', slice('v', ['10.3.0.1']));
    write('g4.json', slice('v', ['10.3.0.2']));
    const dup = await files.loadChanged([join(eps, 'g3.json'), join(eps, 'g4.json')]);
    assert.equal(dup.errors.length, 1);
    assert.match(dup.errors[0]!.message, /duplicate EndpointSlice/);
    assert.equal(dup.slices.filter((s) => s.serviceName === 'v').length, 1);
  });
});
