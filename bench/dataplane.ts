// Data plane: first-packet latency (TCP connection set-up time) to one Service while
// N other Services exist, with real connections through a node's rules.
//
// Topology, per backend and N, all throw-away namespaces:
//
//   client (192.168.60.2) ── veth ── node (192.168.60.1 | 10.244.250.1) ── veth ── server (10.244.250.2:8080)
//
// The node holds the ruleset of N filler Services (1 endpoint each, pods that do not
// exist: never contacted) plus the target Service `default/zz-target`, ClusterIP
// 10.100.0.1:80 → 10.244.250.2:8080. Its name sorts last, so in iptables mode its
// ClusterIP rule is the last of the services chain (the worst case of a linear
// lookup); nftables looks it up in a map whatever its place. The client, outside the
// cluster CIDR, is masqueraded on the way to the server. The client opens many short
// connections one after the other (dataplane-peer.ts) and times each set-up; batches to
// the ClusterIP alternate with batches straight to the server's address (no Service:
// the namespace and veth cost alone), so drifting machine load hits both alike.

import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffIpsets } from '../src/backends/ipset.js';
import { ensureJumps, IptablesRunner } from '../src/backends/iptables/apply.js';
import { renderTrafficSet, trafficJumps } from '../src/backends/iptables/traffic-set.js';
import { serializeIptables } from '../src/backends/iptables/document.js';
import { renderIptables } from '../src/backends/iptables/render.js';
import { serializeTables } from '../src/backends/nftables/document.js';
import { nftablesBackend } from '../src/backends/nftables/index.js';
import { renderTables } from '../src/backends/nftables/render.js';
import type { RenderInput } from '../src/model/render-input.js';
import { ep, port, slice, svc } from '../test/helpers/model.js';
import { nftFileAlone, restoreAlone, type LoadResult } from './kernel-load.js';
import { addNetns, deleteNetns } from './netns.js';
import { median, quantile } from './stats.js';
import { syntheticInput } from './synthetic.js';
import { pairedTrafficCounters, withoutTrafficCounters } from './no-counters.js';
import { readNftCounters } from '../src/backends/nftables/counters.js';
import { readIptablesCounters } from '../src/backends/iptables/counters.js';
import { systemExec } from '../src/exec/system-exec.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
export const VIP = '10.100.0.1';
const SERVER = '10.244.250.2';
const SERVER_PORT = 8080;

export type DataplaneBackend = 'nftables' | 'iptables';

export interface DataplaneOptions {
  /** Connections per batch; `batches` batches to the Service and as many straight to the server. */
  connections: number;
  batches: number;
  warmup: number;
  loadLimitMs: number;
}

export interface DataplaneRow {
  backend: DataplaneBackend;
  /** Filler Services besides the target. */
  others: number;
  load: LoadResult;
  /** Set-up times through the Service's ClusterIP, µs (empty when the load did not finish). */
  service: number[];
  /** Set-up times straight to the server's address, µs. */
  direct: number[];
  /** Set when the measurement failed. */
  error?: string;
}

/** N fillers with one endpoint each, plus the target Service with its one endpoint. */
export function dataplaneInput(others: number): RenderInput {
  const base = syntheticInput(others, new Map(), 1);
  const target = svc({ name: 'zz-target', clusterIPs: [VIP], ports: [port(80, SERVER_PORT)] });
  const services = [...base.plan.services, target];
  return {
    ...base,
    plan: { ...base.plan, services },
    endpointSlices: [...base.endpointSlices, slice('zz-target', [ep(SERVER, 'node2')], [{ port: SERVER_PORT }])],
  };
}

export const inNs = (ns: string, cmd: string, args: string[]) => execa('ip', ['netns', 'exec', ns, cmd, ...args]);

async function link(a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): Promise<void> {
  await execa('ip', ['link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
  await inNs(a, 'ip', ['addr', 'add', aAddr, 'dev', aIf]);
  await inNs(b, 'ip', ['addr', 'add', bAddr, 'dev', bIf]);
  await inNs(a, 'ip', ['link', 'set', aIf, 'up']);
  await inNs(b, 'ip', ['link', 'set', bIf, 'up']);
}

/** client ── node ── server, addresses and routes as in the picture above; namespaces made are pushed on `made`. */
export async function buildTopology(client: string, node: string, server: string, made: string[]): Promise<void> {
  for (const ns of [client, node, server]) made.push(await addNetns(ns));
  await link(client, 'c0', '192.168.60.2/24', node, 'n0', '192.168.60.1/24');
  await link(node, 'n1', '10.244.250.1/24', server, 's0', `${SERVER}/24`);
  await inNs(client, 'ip', ['route', 'add', 'default', 'via', '192.168.60.1']);
  await inNs(server, 'ip', ['route', 'add', 'default', 'via', '10.244.250.1']);
  await inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
}

/** The server end (dataplane-peer.ts `server` or `sink`) in its namespace, once it listens. */
export async function startPeer(server: string, mode: 'server' | 'sink', cpu?: string): Promise<ReturnType<typeof spawn>> {
  const peer = spawn('ip', nsArgs(server, cpu, [process.execPath, '--import', 'tsx', join(here, 'dataplane-peer.ts'), mode, String(SERVER_PORT)]), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    peer.stdout!.once('data', () => res());
    peer.once('exit', (c) => rej(new Error(`data plane server exited (${c})`)));
  });
  return peer;
}

async function loadRules(backend: DataplaneBackend, node: string, input: RenderInput, limitMs: number): Promise<LoadResult> {
  if (backend === 'nftables') return nftFileAlone(node, nftablesBackend.render(input), limitMs);
  const r = await restoreAlone(node, serializeIptables(renderIptables(input)), limitMs);
  // restore alone writes our chains; the jumps from the built-in chains are separate commands.
  if (r.finished) await ensureJumps(new IptablesRunner(node), 'IPv4', false);
  return r;
}

export async function clientBatch(client: string, host: string, port: number, n: number, warmup: number): Promise<number[]> {
  const r = await execa('ip', ['netns', 'exec', client, process.execPath, '--import', 'tsx', join(here, 'dataplane-peer.ts'), 'client', host, String(port), String(n), String(warmup)], {
    cwd: root,
    timeout: 600_000,
  });
  return JSON.parse(r.stdout.trim()) as number[];
}

export async function benchDataplane(backend: DataplaneBackend, others: number, o: DataplaneOptions, prefix: string, log: (m: string) => void): Promise<DataplaneRow> {
  const [client, node, server] = [`${prefix}-dp-c`, `${prefix}-dp-n`, `${prefix}-dp-s`];
  const row: DataplaneRow = { backend, others, load: { ms: NaN, finished: false }, service: [], direct: [] };
  const made: string[] = [];
  let peer: ReturnType<typeof spawn> | undefined;
  try {
    await buildTopology(client, node, server, made);

    log(`data plane ${backend}: loading ${others} other Services (limit ${(o.loadLimitMs / 1000).toFixed(0)} s)`);
    row.load = await loadRules(backend, node, dataplaneInput(others), o.loadLimitMs);
    if (!row.load.finished) {
      log(`data plane ${backend}: the load did not finish in ${(row.load.ms / 1000).toFixed(0)} s`);
      return row;
    }

    peer = await startPeer(server, 'server');
    for (let b = 0; b < o.batches; b++) {
      row.direct.push(...(await clientBatch(client, SERVER, SERVER_PORT, o.connections, o.warmup)));
      row.service.push(...(await clientBatch(client, VIP, 80, o.connections, o.warmup)));
    }
    log(`data plane ${backend} ${others}: service p50 ${median(row.service).toFixed(0)} µs p99 ${quantile(row.service, 0.99).toFixed(0)} µs; direct p50 ${median(row.direct).toFixed(0)} µs`);
    return row;
  } finally {
    peer?.kill('SIGKILL');
    for (const ns of made.reverse()) await deleteNetns(ns);
  }
}

export interface CountersCostRow {
  others: number;
  /** Set-up times through the Service, µs, with the traffic counters in the rules and without them. */
  withCounters: number[];
  withoutCounters: number[];
  /** Bulk throughput through the Service, MB/s per transfer. */
  throughputWith: number[];
  throughputWithout: number[];
  /** CPU per transfer, µs per MB: client + sink + softirq threads (dataplane-peer.ts bulkpair); paired runs since session 12. */
  cpuWith?: number[];
  cpuWithout?: number[];
  /**
   * How the variants shared the machine: 'rulesets', the node's rules switched before each
   * batch; 'sources', one ruleset and two client addresses, one skipping the counting
   * (iptables since session 11, nftables since session 12), alternating connection by
   * connection and transfer by transfer. Absent in older results: 'rulesets'.
   */
  pairing?: 'rulesets' | 'sources';
  /** Where client and sink ran (taskset; session 12): PinMode. Absent in older results: not pinned. */
  pinned?: PinMode;
  /** The backend's own counters of the target Service after the run, beside what each client address sent through it (paired runs). */
  counted?: CountedProof;
}

/** What the node's counters saw of the target Service, read with the agent's own reader, against what each source sent. */
export interface CountedProof {
  /** Per counter kind (packets, bytes, new_connections, endpoint_*): the target Service's value. */
  values: Record<string, number>;
  /** nftables: the new-connection counters (map element, DNAT rule) are on the counted path only; iptables' are nat rule counters both addresses pass. */
  connectionsPerAddress?: boolean;
  /** Connections and bulk bytes (payload) each client address sent through the Service. */
  sent: { with: { connections: number; bytes: number }; without: { connections: number; bytes: number } };
}

/**
 * Where client and sink run, the same for every transfer of both variants: 'none', where the
 * scheduler puts them (unpinned, a transfer ran at ~250 or ~1,100 MB/s by whether the two
 * shared a core: README "counters"); 'split', one core each; 'same', both on one core.
 */
export type PinMode = 'none' | 'split' | 'same';
const PIN: Record<PinMode, { client?: string; server?: string }> = { none: {}, split: { client: '0', server: '1' }, same: { client: '1', server: '1' } };

/** `cmd args` in namespace `ns`, on CPU `cpu` when given. */
const nsArgs = (ns: string, cpu: string | undefined, cmd: string[]) => ['netns', 'exec', ns, ...(cpu ? ['taskset', '-c', cpu] : []), ...cmd];

/** Puts the node's rules in one variant, with the traffic counters or without them; fails when they do not load. */
type CountersSwitch = (variant: 'with' | 'without') => Promise<void>;

/** nftables, unpaired: the whole ruleset reloaded, with its counters or without them (no-counters.ts). */
function nftCountersSwitch(node: string, input: RenderInput, loadLimitMs: number): CountersSwitch {
  const tables = renderTables(input);
  const docs = { with: serializeTables(tables), without: serializeTables(withoutTrafficCounters(tables)) };
  return async (variant) => {
    await inNs(node, 'nft', ['flush', 'ruleset']);
    const load = await nftFileAlone(node, docs[variant], loadLimitMs);
    if (!load.finished) throw new Error(`the ruleset ${variant} counters did not load in ${loadLimitMs} ms`);
  };
}

/** The paired measurement's client addresses: one counted ('with'), one whose connections skip every counting cost ('without'). */
export const PAIRED_SOURCES = { with: '192.168.60.2', without: '192.168.60.3' } as const;

/**
 * nftables, paired: the rendered tables with an uncounted copy of every counting path, taken
 * by the connections of the client's second address (no-counters.ts pairedTrafficCounters),
 * loaded once.
 */
async function nftPairedCounters(node: string, input: RenderInput, loadLimitMs: number, control: boolean): Promise<void> {
  const load = await nftFileAlone(node, serializeTables(pairedTrafficCounters(renderTables(input), PAIRED_SOURCES.without, control)), loadLimitMs);
  if (!load.finished) throw new Error(`the paired nftables ruleset did not load in ${loadLimitMs} ms`);
}

/**
 * iptables: the chains, the filled traffic set and its four counting rules in mangle
 * (traffic-set.ts) loaded once, as apply does; ahead of them, two rules accept the packets
 * of the client's second address (`-s` for its original direction, `-d` for the replies,
 * which carry the client's address there: masquerade is undone at PREROUTING) before any
 * counting rule runs. Both addresses' packets test those two rules (native compares under
 * iptables-nft); only the first address's go on to the counting rules. So one ruleset
 * serves both variants, connection by connection, in the same instant.
 */
async function iptPairedCounters(node: string, input: RenderInput, loadLimitMs: number): Promise<void> {
  const run = new IptablesRunner(node);
  const load = await restoreAlone(node, serializeIptables(renderIptables(input)), loadLimitMs);
  if (!load.finished) throw new Error(`the iptables ruleset did not load in ${loadLimitMs} ms`);
  await ensureJumps(run, 'IPv4', false);
  await run.ipset(['restore'], diffIpsets([renderTrafficSet(input, 'IPv4')], new Map()).adds.join('\n') + '\n');
  await ensureJumps(run, 'IPv4', false, trafficJumps('IPv4'));
  const b = PAIRED_SOURCES.without;
  // Inserted at 1 after the counting rules: first in the chain.
  await ensureJumps(run, 'IPv4', false, [
    { table: 'mangle', chain: 'POSTROUTING', rule: ['-s', `${b}/32`, '-j', 'ACCEPT'] },
    { table: 'mangle', chain: 'POSTROUTING', rule: ['-d', `${b}/32`, '-j', 'ACCEPT'] },
  ]);
}

/** The target Service's counters on the node, read as the agent reads them (the backend's counters.ts). */
async function targetCounters(backend: DataplaneBackend, node: string): Promise<Record<string, number>> {
  const samples = backend === 'nftables' ? await readNftCounters(systemExec, node) : await readIptablesCounters(systemExec, node);
  const out: Record<string, number> = {};
  for (const x of samples.filter((y) => y.service === 'zz-target')) out[x.kind] = (out[x.kind] ?? 0) + x.value;
  return out;
}

export interface CountersCostOptions extends DataplaneOptions {
  bulkMB: number;
  bulkRounds: number;
  /** 'sources' (default): one ruleset, two client addresses; 'rulesets' (nftables only): the rules reloaded before each batch. */
  pairing?: 'sources' | 'rulesets';
  /** Where client and sink run (PinMode; default 'same'). */
  pin?: PinMode;
  /** nftables, paired: both addresses take a counted path (no-counters.ts `control`), to see the method's own bias. */
  control?: boolean;
}

/**
 * What the traffic counters of `backend` cost (issue 18 §2), in one run on one topology.
 * Paired (the default, both backends): one ruleset in which the connections of the client's
 * second address skip every counting cost (nftPairedCounters, iptPairedCounters); per batch,
 * first-packet latency with the connections alternating between the two addresses one by
 * one, then `bulkRounds` pairs of bulk transfers alternating A B, B A, ... (MB/s and CPU per
 * MB of each). Unpaired ('rulesets', nftables): the rules reloaded with and without the
 * counters before each batch, the order swapped every batch.
 */
export async function benchCountersCost(others: number, o: CountersCostOptions, prefix: string, log: (m: string) => void, backend: DataplaneBackend = 'nftables'): Promise<CountersCostRow> {
  const [client, node, server] = [`${prefix}-cc-c`, `${prefix}-cc-n`, `${prefix}-cc-s`];
  const pairing = backend === 'nftables' && o.pairing === 'rulesets' ? 'rulesets' : 'sources';
  const pin = PIN[o.pin ?? 'same'];
  const row: CountersCostRow = { others, withCounters: [], withoutCounters: [], throughputWith: [], throughputWithout: [], pairing, pinned: o.pin ?? 'same' };
  const input = dataplaneInput(others);
  const made: string[] = [];
  let peer: ReturnType<typeof spawn> | undefined;
  try {
    await buildTopology(client, node, server, made);
    const switchTo = pairing === 'rulesets' ? nftCountersSwitch(node, input, o.loadLimitMs) : undefined;
    if (!switchTo) {
      if (o.control && backend !== 'nftables') throw new Error('the method control is built for nftables only');
      await (backend === 'nftables' ? nftPairedCounters(node, input, o.loadLimitMs, o.control ?? false) : iptPairedCounters(node, input, o.loadLimitMs));
      await inNs(client, 'ip', ['addr', 'add', `${PAIRED_SOURCES.without}/24`, 'dev', 'c0']);
      row.cpuWith = [];
      row.cpuWithout = [];
    }
    peer = await startPeer(server, 'sink', pin.server);
    const peer$ = (...args: string[]) =>
      execa('ip', nsArgs(client, pin.client, [process.execPath, '--import', 'tsx', join(here, 'dataplane-peer.ts'), ...args]), { cwd: root, timeout: 600_000 }).then((r) => JSON.parse(r.stdout.trim()) as number[][]);
    for (let b = 0; b < o.batches; b++) {
      const order = b % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const);
      if (switchTo) {
        for (const variant of order) {
          await switchTo(variant);
          const latency = (await peer$('client', VIP, '80', String(o.connections), String(o.warmup))) as unknown as number[];
          const mbps = (await peer$('bulk', VIP, '80', String(o.bulkMB), String(o.bulkRounds))) as unknown as number[];
          (variant === 'with' ? row.withCounters : row.withoutCounters).push(...latency);
          (variant === 'with' ? row.throughputWith : row.throughputWithout).push(...mbps);
        }
      } else {
        // Index 0 of each answer is the first address given: the one of `order[0]`.
        const [a, c] = await peer$('pair', VIP, '80', PAIRED_SOURCES[order[0]], PAIRED_SOURCES[order[1]], String(o.connections), String(o.warmup));
        const [ta, tc, ca, cc] = await peer$('bulkpair', VIP, '80', String(o.bulkMB), String(o.bulkRounds), PAIRED_SOURCES[order[0]], PAIRED_SOURCES[order[1]]);
        const withFirst = order[0] === 'with';
        row.withCounters.push(...(withFirst ? a! : c!));
        row.withoutCounters.push(...(withFirst ? c! : a!));
        row.throughputWith.push(...(withFirst ? ta! : tc!));
        row.throughputWithout.push(...(withFirst ? tc! : ta!));
        row.cpuWith!.push(...(withFirst ? ca! : cc!));
        row.cpuWithout!.push(...(withFirst ? cc! : ca!));
      }
      log(`counters cost ${backend} ${others}: batch ${b + 1}/${o.batches} done`);
    }
    if (!switchTo) {
      const each = { connections: o.batches * (o.connections + o.warmup + o.bulkRounds), bytes: o.batches * o.bulkRounds * o.bulkMB * (1 << 20) };
      row.counted = { values: await targetCounters(backend, node), connectionsPerAddress: backend === 'nftables', sent: { with: each, without: each } };
    }
    return row;
  } finally {
    peer?.kill('SIGKILL');
    for (const ns of made.reverse()) await deleteNetns(ns);
  }
}
