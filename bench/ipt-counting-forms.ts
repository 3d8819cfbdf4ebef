// Forms of the iptables traffic set's counting rules (issue 18 §2), side by side on the
// data-plane topology (dataplane.ts: client ── node ── server, the node holding N other
// Services and the filled traffic set):
//
//   paired per batch, each form's hook rules in mangle (copied K times, to lift their cost
//          above the machine's noise), and the client's connections alternating between
//          an address that goes through them and one accepted ahead of them (as
//          dataplane.ts measures the rendered form); the forms take turns, their order
//          rotated every batch. Prints each form's per-batch change, A against B.
//   counts every form at once, each on its own copy of the set, then the same traffic
//          through the Service (connections and a bulk transfer): every form must count
//          exactly the packets and bytes of the rendered form.
//
//   node --import tsx bench/ipt-counting-forms.ts paired [--others 1000] [--batches 10] [--connections 150] [--copies 32] [--forms none,rendered,no-comment,…]
//   node --import tsx bench/ipt-counting-forms.ts counts [--others 1000]

import { execa } from 'execa';
import { join } from 'node:path';
import { diffIpsets } from '../src/backends/ipset.js';
import { ensureJumps, IptablesRunner } from '../src/backends/iptables/apply.js';
import { serializeIptables } from '../src/backends/iptables/document.js';
import { renderIptables } from '../src/backends/iptables/render.js';
import { renderTrafficSet, trafficJumps, trafficSetName } from '../src/backends/iptables/traffic-set.js';
import { buildTopology, clientBatch, dataplaneInput, inNs, startPeer, VIP } from './dataplane.js';
import { restoreAlone } from './kernel-load.js';
import { deleteNetns } from './netns.js';
import { median } from './stats.js';

/** One form: mangle rules (`-A CHAIN …` lines) counting on `set`, its own chains named with `tag`. */
interface Form {
  chains: (tag: string) => string[];
  rules: (set: string, tag: string) => string[];
}

const dir = (d: 'ORIGINAL' | 'REPLY') => `-m conntrack --ctstate DNAT --ctdir ${d}`;
const ORIG = (set: string) => `-m set --match-set ${set} dst,dst`;
const REPL = (set: string) => `-m set --match-set ${set} src,src`;
const onHooks = (r: (hook: string) => string[]) => [...r('-A POSTROUTING'), ...r('-A INPUT ! -i lo')];

export const FORMS: Record<string, Form> = {
  none: { chains: () => [], rules: () => [] },
  /** The rules traffic-set.ts renders (trafficJumps), as iptables-save prints them. */
  rendered: {
    chains: () => [],
    rules: (set) =>
      trafficJumps('IPv4').map((j) => `-A ${j.chain} ${j.rule.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ')}`.replace(trafficSetName('IPv4'), set)),
  },
  /** The same two rules per hook without the comment match (one xt compat call fewer per counted packet). */
  'no-comment': { chains: () => [], rules: (set) => onHooks((h) => [`${h} ${dir('ORIGINAL')} ${ORIG(set)}`, `${h} ${dir('REPLY')} ${REPL(set)}`]) },
  /** One `--ctstate DNAT` jump per hook; the chain tests the direction and looks up the set (a counted original returns at once). */
  'dnat-jump': {
    chains: (tag) => [`:SVP-COUNT${tag} - [0:0]`],
    rules: (set, tag) => [
      ...onHooks((h) => [`${h} -m conntrack --ctstate DNAT -j SVP-COUNT${tag}`]),
      `-A SVP-COUNT${tag} -m conntrack --ctdir ORIGINAL ${ORIG(set)} -j RETURN`,
      `-A SVP-COUNT${tag} -m conntrack --ctdir REPLY ${REPL(set)}`,
    ],
  },
  /** The set looked up first, the conntrack test only on a hit (cheaper for Service packets, a lookup for every other packet). */
  'set-first': { chains: () => [], rules: (set) => onHooks((h) => [`${h} ${ORIG(set)} ${dir('ORIGINAL')}`, `${h} ${REPL(set)} ${dir('REPLY')}`]) },
};

/** `iptables-restore --noflush` input putting `forms` into mangle (each on its own set and tag), `copies` times over. */
function mangleText(forms: { form: Form; set: string; tag: string }[], copies: number): string {
  const chains = forms.flatMap((f) => f.form.chains(f.tag));
  const rules = forms.flatMap((f) => f.form.rules(f.set, f.tag));
  // Hook rules are copied; the forms' own chains hold their rules once.
  const hook = rules.filter((r) => /^-A (POSTROUTING|INPUT) /.test(r));
  const own = rules.filter((r) => !/^-A (POSTROUTING|INPUT) /.test(r));
  return ['*mangle', '-F POSTROUTING', '-F INPUT', ...chains, ...Array.from({ length: copies }, () => hook).flat(), ...own, 'COMMIT', ''].join('\n');
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

async function withNode<T>(others: number, fn: (node: string, client: string, server: string) => Promise<T>): Promise<T> {
  const prefix = `svp-icf-${process.pid}`;
  const [client, node, server] = [`${prefix}-c`, `${prefix}-n`, `${prefix}-s`];
  const made: string[] = [];
  try {
    await buildTopology(client, node, server, made);
    const input = dataplaneInput(others);
    const load = await restoreAlone(node, serializeIptables(renderIptables(input)), 240_000);
    if (!load.finished) throw new Error('the iptables ruleset did not load');
    const run = new IptablesRunner(node);
    await ensureJumps(run, 'IPv4', false);
    await run.ipset(['restore'], diffIpsets([renderTrafficSet(input, 'IPv4')], new Map()).adds.join('\n') + '\n');
    return await fn(node, client, server);
  } finally {
    for (const ns of made.reverse()) await deleteNetns(ns);
  }
}

const restore = (node: string, text: string) => execa('ip', ['netns', 'exec', node, 'iptables-restore', '--noflush', '-w'], { input: text });

/** ipset's counters of the target's element in `set`: [packets, bytes]. */
async function elementCounters(node: string, set: string, entry: string): Promise<[number, number]> {
  const out = (await inNs(node, 'ipset', ['list', set])).stdout;
  const line = out.split('\n').find((l) => l.startsWith(`${entry} `));
  const m = line && /packets (\d+) bytes (\d+)/.exec(line);
  if (!m) throw new Error(`no counters for ${entry} in ${set}`);
  return [Number(m[1]), Number(m[2])];
}

async function counts(): Promise<void> {
  const others = Number(arg('others', '1000'));
  const names = Object.keys(FORMS).filter((n) => n !== 'none');
  const entry = '10.244.250.2,tcp:8080';
  await withNode(others, async (node, client, server) => {
    const copyOf = (n: string) => `SVP-CHK-${names.indexOf(n)}`;
    for (const n of names) {
      await inNs(node, 'ipset', ['create', copyOf(n), 'hash:ip,port', 'counters', 'maxelem', '1048576']);
      await inNs(node, 'ipset', ['add', copyOf(n), entry]);
    }
    await restore(node, mangleText(names.map((n, i) => ({ form: FORMS[n]!, set: copyOf(n), tag: `-${i}` })), 1));
    // Traffic through the Service: short connections, then a bulk transfer (the peer's sink answers with the byte count).
    const peer = await startPeer(server, 'sink');
    try {
      await clientBatch(client, VIP, 80, 200, 0);
      await execa('ip', ['netns', 'exec', client, process.execPath, '--import', 'tsx', join(import.meta.dirname, 'dataplane-peer.ts'), 'bulk', VIP, '80', '20', '2']);
      // And from the node itself (POSTROUTING out, INPUT back); it needs a route to the ClusterIP to send at all.
      await inNs(node, 'ip', ['route', 'add', 'default', 'via', '10.244.250.2']);
      await execa('ip', ['netns', 'exec', node, process.execPath, '--import', 'tsx', join(import.meta.dirname, 'dataplane-peer.ts'), 'bulk', VIP, '80', '5', '2']);
    } finally {
      peer.kill('SIGKILL');
    }
    const seen = new Map<string, [number, number]>();
    for (const n of names) seen.set(n, await elementCounters(node, copyOf(n), entry));
    const ref = seen.get('rendered')!;
    let same = true;
    for (const [n, c] of seen) {
      console.log(`${n}: packets ${c[0]} bytes ${c[1]}${c[0] === ref[0] && c[1] === ref[1] ? '' : '  DIFFERS from rendered'}`);
      same &&= c[0] === ref[0] && c[1] === ref[1];
    }
    if (!same || ref[0] === 0) process.exitCode = 1;
  });
}

const SRC_A = '192.168.60.2';
const SRC_B = '192.168.60.3';

/**
 * Paired in time: the client's connections alternate between two source addresses; the
 * node's mangle lets B's packets (both directions) through before any counting rule, so A's
 * connections pay the form's rules and B's do not, in the same instant. Per batch, the
 * change is median(A) / median(B) − 1. The form 'none' is the control: its spread is the
 * method's own.
 */
async function paired(): Promise<void> {
  const others = Number(arg('others', '1000'));
  const batches = Number(arg('batches', '10'));
  const connections = Number(arg('connections', '150'));
  const copies = Number(arg('copies', '1'));
  const names = arg('forms', 'none,rendered,no-comment,dnat-jump').split(',');
  const set = trafficSetName('IPv4');
  const bypass = ['*mangle', `-I POSTROUTING -s ${SRC_B} -j ACCEPT`, `-I POSTROUTING -d ${SRC_B} -j ACCEPT`, `-I INPUT -s ${SRC_B} -j ACCEPT`, 'COMMIT', ''].join('\n');
  await withNode(others, async (node, client, server) => {
    await inNs(client, 'ip', ['addr', 'add', `${SRC_B}/24`, 'dev', 'c0']);
    const peer = await startPeer(server, 'server');
    try {
      const per = new Map<string, number[]>(names.map((n) => [n, []]));
      const load: string[] = [];
      for (let b = 0; b < batches; b++) {
        for (const name of names.map((_, i) => names[(i + b) % names.length]!)) {
          await restore(node, mangleText([{ form: FORMS[name]!, set, tag: '' }], copies));
          await restore(node, bypass);
          const r = await execa('ip', ['netns', 'exec', client, process.execPath, '--import', 'tsx', join(import.meta.dirname, 'dataplane-peer.ts'), 'pair', VIP, '80', SRC_A, SRC_B, String(connections), '20']);
          const [a, bb] = JSON.parse(r.stdout) as [number[], number[]];
          per.get(name)!.push(median(a) / median(bb) - 1);
        }
        load.push((await execa('cat', ['/proc/loadavg'])).stdout.split(' ')[0]!);
      }
      console.log(`paired: others ${others}, ${batches} batches of ${connections} connection pairs, ${copies} copies; 1-min load per batch: ${load.join(' ')}`);
      console.log('form | per-batch change A/B (sorted, %) | median');
      for (const name of names) {
        const xs = per.get(name)!.sort((x, y) => x - y);
        console.log(`${name} | ${xs.map((x) => (x * 100).toFixed(1)).join(' ')} | ${(median(xs) * 100).toFixed(1)} %`);
      }
    } finally {
      peer.kill('SIGKILL');
    }
  });
}

const mode = process.argv[2];
if (mode === 'counts') await counts();
else if (mode === 'paired') await paired();
else {
  console.error('usage: ipt-counting-forms.ts paired|counts [--others N] …');
  process.exitCode = 2;
}
