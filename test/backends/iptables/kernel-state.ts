// What a test namespace's kernel must hold after a sync of `i`: every chain of ours as
// rendered, the traffic sets' elements and comments, and (with `jumps`) every jump and
// counting rule in the built-in chains.

import assert from 'node:assert/strict';
import { builtinJumps, ensureJumps } from '../../../src/backends/iptables/apply.js';
import { parseSavedChains } from '../../../src/backends/iptables/document.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { renderTrafficSet } from '../../../src/backends/iptables/traffic-set.js';
import { parseIpsetSave } from '../../../src/backends/ipset.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import type { TestNetns } from './netns.js';

export async function assertKernelMatches(ns: TestNetns, i: RenderInput, jumps = false): Promise<void> {
  for (const t of renderIptables(i)) {
    const save = (await ns.exec([t.family === 'IPv4' ? 'iptables-save' : 'ip6tables-save'])).stdout;
    for (const table of ['filter', 'nat'] as const) {
      assert.deepEqual(Object.fromEntries(parseSavedChains(save, table)), Object.fromEntries(t[table].map((c) => [c.name, c.rules])));
    }
    // The traffic set holds the render's elements and comments (partial syncs' add/del lines included).
    const want = renderTrafficSet(i, t.family);
    const live = parseIpsetSave((await ns.exec(['ipset', 'save', want.name])).stdout).get(want.name)!;
    assert.deepEqual([...live.entries].sort(), want.entries);
    assert.deepEqual(new Map([...live.comments].sort()), new Map([...want.comments!].sort()));
    // A dry run counts the jumps it would insert.
    if (jumps) {
      const missing = await ensureJumps(ns.run, t.family, true, builtinJumps(t.family));
      const tool = t.family === 'IPv4' ? 'iptables' : 'ip6tables';
      const builtins = missing ? (await ns.exec([tool, '-t', 'mangle', '-S'])).stdout + (await ns.exec([tool, '-t', 'nat', '-S', 'PREROUTING'])).stdout : '';
      assert.equal(missing, 0, `${t.family}: every jump and counting rule in place\n${builtins}`);
    }
  }
}
