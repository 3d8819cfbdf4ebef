// What each candidate reading of the iptables resync's cheap check costs at scale (issue 16
// §3), against iptables-nft in a throw-away namespace holding SERVICES × ENDPOINTS as the
// syncer writes them: each command ROUNDS times through `ip netns exec` (wall ms: median,
// min, max; stdout bytes); what a ruleset monitor costs to start there (`nft monitor`,
// `xtables-monitor -e`: time until it listens, its RSS); then the syncer's resync three
// ways, alternated: with the ruleset watch and nothing changed (ruleset-watch.ts), the cheap
// check agreeing (no watch), and everything read back (readBackEvery 1, what every resync
// did before), with the tools each ran and their time.
//
//   node --import tsx bench/ipt-resync-check.ts [SERVICES [ENDPOINTS_PER_SERVICE [ROUNDS]]]   (default 10000 10 5)
//
// Prints one JSON line per candidate and per resync; src/backends/iptables/README.md
// ("The resync's cheap check") quotes it.

import type { Command, Exec } from '../src/exec/exec.js';
import { systemExec } from '../src/exec/system-exec.js';
import { IptablesRunner } from '../src/backends/iptables/apply.js';
import { RulesetWatch } from '../src/backends/iptables/ruleset-watch.js';
import { IptablesSyncer } from '../src/backends/iptables/syncer.js';
import { readFile } from 'node:fs/promises';
import { spawnSystemWatch } from '../src/exec/watch-process.js';
import { createNetns, deleteNetns, RUN_PREFIX } from '../test/e2e/lib/netns.js';
import { ENDPOINTS_PER_SERVICE, syntheticInput } from './synthetic.js';

const [services, perService, rounds] = [10000, ENDPOINTS_PER_SERVICE, 5].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `argv` in `ns` `rounds` times, stdout counted (never held). */
async function cost(ns: string, label: string, argv: string[]): Promise<void> {
  const ms: number[] = [];
  let bytes = 0;
  let exitCode = 0;
  for (let r = 0; r < rounds; r++) {
    bytes = 0;
    const t = performance.now();
    const res = await systemExec.run({ file: argv[0]!, args: argv.slice(1), netns: ns, stdoutLines: (l) => (bytes += l.length + 1) });
    ms.push(performance.now() - t);
    exitCode = res.exitCode;
  }
  process.stdout.write(`${JSON.stringify({ candidate: label, argv: argv.join(' '), exitCode, medianMs: Math.round(median(ms)), minMs: Math.round(Math.min(...ms)), maxMs: Math.round(Math.max(...ms)), stdoutBytes: bytes })}\n`);
}

/** An Exec that notes each tool's wall time (file + first words), for one resync at a time. */
function timed(inner: Exec, into: { tools: Map<string, { n: number; ms: number }> }): Exec {
  return {
    run: async (c: Command) => {
      const t = performance.now();
      const r = await inner.run(c);
      const key = `${c.file} ${c.args.filter((a) => a.startsWith('-') && a !== '-w').slice(0, 2).join(' ')}`.trim();
      const e = into.tools.get(key) ?? { n: 0, ms: 0 };
      into.tools.set(key, { n: e.n + 1, ms: e.ms + performance.now() - t });
      return r;
    },
  };
}

/** Starts `argv` as a watcher in `ns`: ms until its netlink socket listens, its RSS then and 5 s later. */
async function monitorStart(ns: string, label: string, argv: string[]): Promise<void> {
  const t = performance.now();
  const p = spawnSystemWatch({ file: argv[0]!, args: argv.slice(1), netns: ns }, { netlinkProtocol: 12, readyTimeoutMs: 180_000 });
  const ready = await p.ready;
  const ms = Math.round(performance.now() - t);
  const kib = async (key: string) => Number(/(\d+) kB/.exec((await readFile(`/proc/${p.pid}/status`, 'utf8')).split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? NaN);
  const rssAtReady = ready ? await kib('VmRSS:') : NaN;
  await new Promise((r) => setTimeout(r, 5000));
  const hwm = ready ? await kib('VmHWM:') : NaN;
  p.kill();
  process.stdout.write(`${JSON.stringify({ monitor: label, argv: argv.join(' '), listening: ready, msToListen: ms, rssKiBAtListen: rssAtReady, hwmKiB5sLater: hwm })}\n`);
}

const ns = await createNetns(`${RUN_PREFIX}iptcheck`);
try {
  const input = syntheticInput(services, new Map(), perService);
  const log = { tools: new Map<string, { n: number; ms: number }>() };
  const cheap = new IptablesSyncer(new IptablesRunner(ns, 'nft', timed(systemExec, log)), undefined, undefined, false);
  const watch = new RulesetWatch(ns);
  const watched = new IptablesSyncer(new IptablesRunner(ns, 'nft', timed(systemExec, log)), undefined, undefined, false, { watch });
  const readBack = new IptablesSyncer(new IptablesRunner(ns, 'nft', systemExec), undefined, undefined, false, { readBackEvery: 1 });
  let t = performance.now();
  await cheap.sync(input);
  process.stdout.write(`${JSON.stringify({ step: 'first sync (load)', ms: Math.round(performance.now() - t) })}\n`);
  t = performance.now();
  await readBack.sync(input);
  process.stdout.write(`${JSON.stringify({ step: 'second syncer\'s first sync (read back, nothing to write)', ms: Math.round(performance.now() - t) })}\n`);

  // A Service chain (the first SVP-SERVICES jumps to) and an endpoint chain (the first it jumps to).
  const jumpIn = async (chain: string, prefix: string) =>
    new RegExp(`-j (${prefix}\\S+)`).exec((await systemExec.run({ file: 'iptables', args: ['-t', 'nat', '-S', chain], netns: ns })).stdout)?.[1] ?? chain;
  const svcChain = await jumpIn('SVP-SERVICES', 'SVP-SVC-');
  const sepChain = await jumpIn(svcChain, 'SVP-SEP-');
  const candidates: [string, string[]][] = [
    ['names of every chain (nft)', ['nft', 'list', 'chains']],
    ['names of the ip family\'s chains (nft)', ['nft', 'list', 'chains', 'ip']],
    ['one top chain, nft', ['nft', 'list', 'chain', 'ip', 'nat', 'SVP-SERVICES']],
    ['one top chain, iptables -S', ['iptables', '-w', '-t', 'nat', '-S', 'SVP-SERVICES']],
    ['one Service chain, iptables -S', ['iptables', '-w', '-t', 'nat', '-S', svcChain]],
    ['one endpoint chain, iptables -S', ['iptables', '-w', '-t', 'nat', '-S', sepChain]],
    ['a built-in chain, iptables -S', ['iptables', '-w', '-t', 'nat', '-S', 'PREROUTING']],
    ['a jump check, iptables -C', ['iptables', '-w', '-t', 'nat', '-C', 'PREROUTING', '-m', 'comment', '--comment', 'svcplane service portals', '-j', 'SVP-SERVICES']],
    ['filter whole, iptables-save', ['iptables-save', '-t', 'filter']],
    ['the sets\' headers, ipset list -t', ['ipset', 'list', '-t']],
    ['nat whole, iptables-save (the read-back)', ['iptables-save', '-t', 'nat']],
    ['the sets whole, ipset save (the read-back)', ['ipset', 'save']],
  ];
  for (const [label, argv] of candidates) await cost(ns, label, argv);
  await monitorStart(ns, 'xtables-monitor', ['stdbuf', '-oL', 'xtables-monitor', '-e']);
  await monitorStart(ns, 'nft monitor', ['nft', 'monitor']);

  // The watched syncer's first sync: a read-back with the monitor listening (nothing written, so it lives).
  t = performance.now();
  const w0 = await watched.sync(input);
  process.stdout.write(`${JSON.stringify({ step: 'watched syncer\'s first sync (read back, monitor listening)', ms: Math.round(performance.now() - t), check: w0.check, settled: w0.settled, listening: watch.listening })}\n`);

  for (let r = 0; r < rounds; r++) {
    for (const [name, syncer] of [['watched', watched], ['cheap check', cheap], ['read back', readBack]] as const) {
      log.tools.clear();
      t = performance.now();
      const res = await syncer.sync(input, { full: true });
      const ms = Math.round(performance.now() - t);
      const tools = name !== 'read back' ? Object.fromEntries([...log.tools].map(([k, v]) => [k, `${v.n}x ${Math.round(v.ms)} ms`])) : undefined;
      process.stdout.write(`${JSON.stringify({ resync: name, round: r, check: res.check, changes: res.changes, ms, ...(tools ? { tools } : {}) })}\n`);
    }
  }
  watched.close();
} finally {
  await deleteNetns(ns);
}
