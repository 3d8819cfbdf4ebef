// The syncer's memory of the chains it wrote keeps the Services' own nat chains only in its
// render cache (syncer.ts, `natOwnCached`): a partial sync diffs a changed Service's chains
// against the pieces its delta replaced, and any other render keeps the memory by name
// first. Property: through random partial syncs (endpoints, Services gone and back), full
// syncs (read back) and a change of what every rule depends on, the kernel ends each sync
// holding the render's chains exactly. The kernel here is a model: every iptables-restore
// input replayed into chains, iptables-save printed from them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { random } from './random.js';

type Tables = Map<string, Map<string, string[]>>;

/** `iptables-restore --noflush` input replayed: a declared chain is flushed (or made), `-A` appends, `-X` deletes. */
function restore(kernel: Tables, text: string): void {
  let table: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      const name = line.slice(1);
      if (!kernel.has(name)) kernel.set(name, new Map());
      table = kernel.get(name)!;
    } else if (line.startsWith(':')) table!.set(line.slice(1).split(' ')[0]!, []);
    else if (line.startsWith('-A ')) table!.get(line.split(' ')[1]!)!.push(line);
    else if (line.startsWith('-X ')) table!.delete(line.split(' ')[1]!);
    else if (line.startsWith('-F ')) table!.set(line.split(' ')[1]!, []);
  }
}

/** One table as iptables-save prints it. */
function save(kernel: Tables, table: string): string {
  const chains = kernel.get(table) ?? new Map<string, string[]>();
  return [`*${table}`, ...[...chains.keys()].map((c) => `:${c} - [0:0]`), ...[...chains.values()].flat(), 'COMMIT', ''].join('\n');
}

const sorted = (chains: Iterable<[string, readonly string[]]>) => [...chains].map(([n, r]) => [n, [...r]] as const).sort(([a], [b]) => (a < b ? -1 : 1));

describe('iptables syncer: the written memory with the Services\' own nat chains in the cache', () => {
  it('partial and full syncs, Services gone and back, a config change: the kernel ends each sync with the render\'s chains', async () => {
    const next = random(20);
    const pool = Array.from({ length: 6 }, (_, i) => `10.244.1.${i + 1}`);
    const names = ['s0', 's1', 's2', 's3', 's4'];
    const endpoints = new Map(names.map((n) => [n, pool.slice(0, 2)]));
    const present = new Set(names);
    let masqueradeAll = false;
    const world = (): RenderInput => {
      const i = input(
        names.filter((n) => present.has(n)).map((n) => svc({ name: n, clusterIPs: [`10.96.0.${names.indexOf(n) + 1}`], ports: [port(80, 8080)] })),
        names.filter((n) => present.has(n)).map((n) => slice(n, endpoints.get(n)!.map((a) => ep(a, 'node1')), [{ port: 8080 }])),
      );
      return masqueradeAll ? { ...i, config: { ...i.config, masqueradeAll: true } } : i;
    };
    const kernel = new Map<string, Tables>([['iptables', new Map()], ['ip6tables', new Map()]]);
    const fake: FakeExec = new FakeExec().on('ipset', ['save']).on('ipset', ['restore']);
    for (const tool of ['iptables', 'ip6tables']) {
      fake
        .on(`${tool}-nft-save`, ['-t'], (c) => ({ stdout: save(kernel.get(tool)!, c.args[1]!) }))
        .on(`${tool}-nft-restore`, [], () => {
          restore(kernel.get(tool)!, fake.commands.at(-1)!.input!);
          return {};
        })
        .on(`${tool}-nft`, ['-w'], (c) => (c.args.includes('-C') ? { exitCode: 1, stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' } : {}));
    }
    const syncer = new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake), undefined, undefined, false, { readBackEvery: 1 });
    const check = (step: number) => {
      const [v4] = renderIptables(world());
      for (const table of ['filter', 'nat'] as const) {
        const want = sorted(v4![table].map((c) => [c.name, c.rules]));
        assert.deepEqual(sorted(kernel.get('iptables')!.get(table) ?? []), want, `step ${step}: ${table}`);
      }
    };
    await syncer.sync(world());
    check(-1);
    let partials = 0;
    for (let step = 0; step < 50; step++) {
      const n = names[Math.floor(next() * names.length)]!;
      if (step === 23) {
        // What every rule depends on: a partial sync renders everything (no delta).
        masqueradeAll = !masqueradeAll;
        await syncer.sync(world(), { changed: new Set([`default/${n}`]) });
      } else if (step % 11 === 10) {
        endpoints.set(n, pool.filter(() => next() < 0.5));
        await syncer.sync(world(), { full: true });
      } else {
        if (next() < 0.2) {
          if (present.has(n)) present.delete(n);
          else present.add(n);
        } else endpoints.set(n, pool.filter(() => next() < 0.5));
        const r = await syncer.sync(world(), { changed: new Set([`default/${n}`]) });
        if (!r.full) partials++;
      }
      check(step);
    }
    assert.ok(partials > 30, `partial syncs: ${partials}`);
  });
});
