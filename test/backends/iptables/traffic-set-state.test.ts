// The syncer's memory of the kernel's traffic sets as a view of the labels
// (traffic-set-state.ts): it must read the kernel's state (the labels as they were when
// it was made) while a partial render changes the labels under it, and the syncer must
// send, sync after sync, the lines that make the kernel's set the render's. The kernel
// here is a model: every `ipset restore` input replayed into sets (advanceIpsets), and
// `ipset save` printed from them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import { LabelsView, materialized } from '../../../src/backends/iptables/traffic-set-state.js';
import { addLabels, removeLabels, renderTrafficSet, trafficSetName, type TrafficLabels, type TrafficElement } from '../../../src/backends/iptables/traffic-set.js';
import { advanceIpsets, type LiveIpset } from '../../../src/backends/ipset.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { random } from './random.js';

const NAME = trafficSetName('IPv4');

/** A set's entries and comments, sorted, for deepEqual. */
function contents(set: { entries: Iterable<string>; comments: ReadonlyMap<string, string> } | undefined): Array<[string, string | undefined]> {
  return set ? [...set.entries].sort().map((e) => [e, set.comments.get(e)]) : [];
}

describe('iptables traffic set memory as a view of the labels', () => {
  it('reads the labels as they were when it was made, whatever is added or removed after remember()', () => {
    const next = random(7);
    const entries = Array.from({ length: 12 }, (_, i) => `10.244.1.${i},tcp:80`);
    const labelNames = ['default/a:80/TCP', 'default/b:80/TCP', 'default/c:80/TCP'];
    const element = (): TrafficElement => ({ entry: entries[Math.floor(next() * entries.length)]!, label: labelNames[Math.floor(next() * labelNames.length)]! });
    for (let round = 0; round < 50; round++) {
      const labels: TrafficLabels = new Map();
      addLabels(labels, Array.from({ length: 15 }, element));
      const view = new LabelsView(NAME, 'hash:ip,port', labels);
      const before = contents(materialized(view));
      for (let change = 0; change < 10; change++) {
        const batch = Array.from({ length: 3 }, element);
        view.remember(batch.map((e) => e.entry));
        (next() < 0.5 ? addLabels : removeLabels)(labels, batch);
        assert.deepEqual(contents(view), before);
        assert.equal(view.entries.size, before.length);
        assert.equal(view.comments.size, before.length);
        for (const e of entries) assert.equal(view.entries.has(e), before.some(([x]) => x === e));
      }
      // A view made now reads the labels as they are.
      const fresh = new LabelsView(NAME, 'hash:ip,port', labels);
      assert.equal(fresh.entries.size, labels.size);
    }
  });

  it('partial and full syncs, shared endpoints, a preserved Service: the kernel set ends as rendered and the memory as the kernel', async () => {
    const next = random(16);
    const pool = Array.from({ length: 8 }, (_, i) => `10.244.1.${i + 1}`);
    const names = ['s0', 's1', 's2', 's3', 's4', 's5'];
    // p has an endpoint of its own: preserved, its element stays in the kernel and the memory.
    const all = [...names, 'p'];
    const endpoints = new Map(all.map((n) => [n, n === 'p' ? ['10.244.9.9'] : pool.slice(0, 2)]));
    const present = new Set(all);
    const world = (): RenderInput =>
      input(
        all.filter((n) => present.has(n)).map((n, i) => svc({ name: n, clusterIPs: [`10.96.0.${i + 1}`], ports: [port(80, 8080)] })),
        all.filter((n) => present.has(n)).map((n) => slice(n, endpoints.get(n)!.map((a) => ep(a, 'node1')), [{ port: 8080 }])),
      );
    // The kernel's sets: every restore input replayed.
    const kernel = new Map<string, LiveIpset>();
    const saveText = () =>
      [...kernel.values()].flatMap((s) => [`create ${s.name} ${s.header}`, ...[...s.entries].map((e) => `add ${s.name} ${e} comment "${s.comments.get(e)}"`)]).join('\n') + '\n';
    // A restore's input is read from the record FakeExec keeps (its pieces are pulled once, there).
    const fake: FakeExec = new FakeExec().on('ipset', ['save'], () => ({ stdout: saveText() })).on('ipset', ['restore'], () => {
      advanceIpsets(kernel, fake.commands.at(-1)!.input!.split('\n').filter(Boolean));
      return {};
    });
    for (const tool of ['iptables', 'ip6tables']) {
      fake
        .on(`${tool}-nft-save`, [])
        .on(`${tool}-nft-restore`, [])
        .on(`${tool}-nft`, ['-w'], (c) => (c.args.includes('-C') ? { exitCode: 1, stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' } : {}));
    }
    const syncer = new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake), undefined, undefined, true, { readBackEvery: 1 });
    const memory = () => (syncer as unknown as { sets: Map<string, LiveIpset | LabelsView> }).sets.get(NAME);
    const rendered = () => contents(renderTrafficSet(world(), 'IPv4') as unknown as LiveIpset);
    await syncer.sync(world());
    let preserved = false;
    for (let step = 0; step < 60; step++) {
      const n = names[Math.floor(next() * names.length)]!;
      if (step === 28) {
        // p leaves the input but is preserved: its element stays in the kernel (no deletion sent).
        present.delete('p');
        await syncer.sync(world(), { full: true, preserveServices: ['default/p'] });
        preserved = true;
        assert.ok(!(memory() instanceof LabelsView), 'with a preserved Service the memory is a copy');
        assert.ok(kernel.get(NAME)!.entries.has('10.244.9.9,tcp:8080'));
      } else if (step % 9 === 8) {
        // A full sync (read back: readBackEvery 1) after a few random changes no caller named.
        endpoints.set(n, pool.filter(() => next() < 0.4));
        await syncer.sync(world(), { full: true });
        preserved = false;
      } else {
        endpoints.set(n, pool.filter(() => next() < 0.4));
        await syncer.sync(world(), { changed: new Set([`default/${n}`]) });
      }
      assert.deepEqual(contents(memory()), contents(kernel.get(NAME)), `step ${step}: the memory is the kernel's set`);
      if (!preserved) {
        assert.deepEqual(contents(kernel.get(NAME)), rendered(), `step ${step}: the kernel's set is the render's`);
        assert.ok(memory() instanceof LabelsView, `step ${step}: the memory is a view of the labels`);
      }
    }
  });
});
