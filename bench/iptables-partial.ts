// In-process cost of one iptables partial sync at scale, without the kernel: what the
// syncer does between an endpoint change and iptables-restore. "all" renders every
// Service (what the syncer did before its render cache), "cached" renders only the
// changed Service (IptablesSyncer.render with `changed`); both then diff against the
// previous chains. Usage: node --import tsx bench/iptables-partial.ts [SERVICES] [ROUNDS]

import { diffFamily } from '../src/backends/iptables/diff.js';
import { renderIptables, type IptTables } from '../src/backends/iptables/render.js';
import { IptablesRunner } from '../src/backends/iptables/apply.js';
import { IptablesSyncer } from '../src/backends/iptables/syncer.js';
import type { RenderInput } from '../src/model/render-input.js';
import { addEndpoint, removeEndpoint, spread } from './changes.js';
import { median, quantile, timed } from './stats.js';
import { syntheticInput } from './synthetic.js';

const services = Number(process.argv[2] ?? '10000');
const rounds = Number(process.argv[3] ?? '20');

function diffBytes(prev: readonly IptTables[], next: readonly IptTables[]): number {
  let bytes = 0;
  next.forEach((t, i) => {
    const b = prev[i]!;
    bytes += diffFamily(t, { filter: new Map(b.filter.map((c) => [c.name, c.rules])), nat: new Map(b.nat.map((c) => [c.name, c.rules])) }).text.length;
  });
  return bytes;
}

async function run(mode: 'all' | 'cached'): Promise<number[]> {
  let input: RenderInput = syntheticInput(services);
  const syncer = new IptablesSyncer(new IptablesRunner('svp-never-used'));
  let prev = mode === 'all' ? renderIptables(input) : syncer.render(input);
  const out: number[] = [];
  for (const [k, i] of spread(services, rounds).entries()) {
    const c = k % 2 === 0 ? addEndpoint(input, i) : removeEndpoint(input, i);
    input = c.input;
    const [next, ms] = await timed(() => {
      const n = mode === 'all' ? renderIptables(input) : syncer.render(input, new Set([c.key]));
      diffBytes(prev, n);
      return n;
    });
    out.push(ms);
    prev = next;
  }
  return out;
}

for (const mode of ['all', 'cached'] as const) {
  const ms = await run(mode);
  console.log(`${mode}: ${services} Services, ${rounds} one-endpoint changes: render+diff p50 ${median(ms).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms`);
}
