// Benchmark: one endpoint change, event to kernel, at S Services × 10 endpoints, with the
// incremental transaction sent as cacheless nft text (src/backends/nftables/text-transaction.ts,
// deletes of counter and hairpin elements deferred) against the JSON document as before,
// alternating in pairs (add, remove) in one syncer, one namespace, one `nft -j -i` session,
// so both see the same machine load. Root needed:
//
//   node --import tsx bench/nft-text.ts [SERVICES=10000] [PAIRS=40]
//
// "total" is the syncer's sync() call (render, diff, send: what the agent waits for);
// "nft" its send step. A JSON round also carries the deletes the text round before it
// deferred (a few elements: it fetches nft's whole cache anyway).

import { loadavg } from 'node:os';
import { nftRunner, sessionRunner } from '../src/backends/nftables/apply.js';
import { NftablesSyncer } from '../src/backends/nftables/syncer.js';
import { NftSession } from '../src/exec/session.js';
import { addEndpoint, removeEndpoint, spread } from './changes.js';
import { withNetns } from './netns.js';
import { median, quantile } from './stats.js';
import { syntheticInput } from './synthetic.js';

const SERVICES = Number(process.argv[2] ?? 10000);
const PAIRS = Number(process.argv[3] ?? 40);
const log = (m: string) => process.stderr.write(`[bench nft-text] ${m}\n`);

type Mode = 'text' | 'json';

/** The five slowest samples, as `total (nft)` in ms. */
function worst(s: { total: number[]; nft: number[] }): string[] {
  return s.total
    .map((t, i) => [t, s.nft[i]!] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([t, n]) => `${t.toFixed(0)} (${n.toFixed(0)})`);
}

await withNetns(`svp-bench-${process.pid}-text`, async (ns) => {
  const base = nftRunner(ns);
  const session = new NftSession({ netns: ns });
  session.warm();
  const sent = { text: 0, json: 0 };
  const runner = sessionRunner(base, session, sent);
  // Read by the syncer at every incremental sync: switched between rounds.
  const options = { cachelessText: true };
  const syncer = new NftablesSyncer(runner, undefined, options);
  let current = syntheticInput(SERVICES);
  log(`full sync of ${SERVICES} Services × 10 endpoints`);
  await syncer.sync(current);
  const samples: Record<Mode, { total: number[]; nft: number[] }> = { text: { total: [], nft: [] }, json: { total: [], nft: [] } };
  const load = [loadavg()[0]!];
  log(`${PAIRS} add/remove pairs each way, alternating`);
  for (const [k, i] of spread(SERVICES, 4 * PAIRS).entries()) {
    const mode: Mode = Math.floor(k / 2) % 2 === 0 ? 'text' : 'json';
    options.cachelessText = mode === 'text';
    const c = k % 2 === 0 ? addEndpoint(current, i) : removeEndpoint(current, i);
    current = c.input;
    const t = performance.now();
    const r = await syncer.sync(current, new Set([c.key]));
    samples[mode].total.push(performance.now() - t);
    samples[mode].nft.push(r.timings.nft ?? 0);
  }
  load.push(loadavg()[0]!);
  session.close();
  const ms = (x: number) => x.toFixed(1);
  const row = (m: Mode) => {
    const s = samples[m];
    return `| ${m} | ${s.total.length} | ${ms(median(s.total))} | ${ms(quantile(s.total, 0.9))} | ${ms(quantile(s.total, 0.99))} | ${ms(median(s.nft))} | ${ms(quantile(s.nft, 0.99))} |`;
  };
  const ratio = (q: (v: number[]) => number) => (q(samples.text.total) / q(samples.json.total)).toFixed(2);
  process.stdout.write(
    [
      `\`node --import tsx bench/nft-text.ts ${SERVICES} ${PAIRS}\`, ${new Date().toISOString().slice(0, 16)}Z, load average ${load.map((x) => x.toFixed(1)).join(' -> ')}; sent ${sent.text} text, ${sent.json} JSON; session ${JSON.stringify(session.stats)}`,
      '',
      '| mode | n | total p50 | p90 | p99 | nft p50 | nft p99 |',
      '|---|---|---|---|---|---|---|',
      row('text'),
      row('json'),
      '',
      `text / json: p50 ${ratio(median)}, p90 ${ratio((v) => quantile(v, 0.9))}, p99 ${ratio((v) => quantile(v, 0.99))}`,
      // At this many samples the p99 is the worst one or two: show them, total (nft).
      ...(['text', 'json'] as const).map((m) => `${m}, worst five: ${worst(samples[m]).join(', ')}`),
      '',
    ].join('\n'),
  );
});
