// Benchmark: the userspace proxy against the nftables backend on the same topology
// (the e2e test bed: a client pod and a server pod on node1, one ClusterIP Service).
// Throughput (one connection and eight at once) and new connections per second
// (1-byte request/answer, 16 at a time), median of rounds, plus the pod IP directly
// as the ceiling. Standalone (root needed):
//
//   node --import tsx bench/userspace.ts        # BENCH_ROUNDS=3 by default
//
// Prints a markdown section and writes it to bench/results/userspace.md.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectInputs } from '../src/manifests/inputs.js';
import { serializePlan } from '../src/model/plan.js';
import { tailStderr, waitReady } from '../test/e2e/lib/json-lines.js';
import { nsExec, spawnInNetns, stopProcess, type NetnsProcess } from '../test/e2e/lib/netns.js';
import { createTopology, type Pod } from '../test/e2e/lib/topology.js';
import { clusterObjects, endpointSlice, service } from '../test/e2e/suite/manifests.js';
import { CLI, startUserspaceAgent } from '../test/userspace/agent-process.js';

const BULK = fileURLToPath(new URL('../test/userspace/fixtures/bulk.mjs', import.meta.url));
const OUT = fileURLToPath(new URL('./results/userspace.md', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VIP = '10.96.0.70';
const PORT = 9000;
const SINGLE_BYTES = 400_000_000;
const MULTI = 8;
const MULTI_BYTES = 100_000_000;
const RATE_SECONDS = 4;
const RATE_CONCURRENCY = 16;

interface Measured {
  singleMBs: number;
  multiMBs: number;
  connsPerSecond: number;
  failed: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runBulk(from: Pod, args: string[]): Promise<Record<string, number>> {
  const r = await nsExec(from.ns, ['node', BULK, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`bulk ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

async function measure(client: Pod, ip: string, port: number): Promise<Measured> {
  const single: number[] = [];
  const multi: number[] = [];
  const rate: number[] = [];
  let failed = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const s = await runBulk(client, ['fetch', ip, String(port), String(SINGLE_BYTES), '1', '0', '0']);
    const m = await runBulk(client, ['fetch', ip, String(port), String(MULTI_BYTES), String(MULTI), '0', '0']);
    const c = await runBulk(client, ['rate', ip, String(port), String(RATE_SECONDS), String(RATE_CONCURRENCY)]);
    failed += s.failed! + m.failed! + c.failed!;
    single.push(s.bytes! / 1e6 / (s.ms! / 1000));
    multi.push(m.bytes! / 1e6 / (m.ms! / 1000));
    rate.push(c.perSecond!);
  }
  return { singleMBs: median(single), multiMBs: median(multi), connsPerSecond: median(rate), failed };
}

async function main(): Promise<void> {
  const t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }] } });
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-bench-userspace-'));
  let server: NetnsProcess | undefined;
  let agent: NetnsProcess | undefined;
  try {
    const client = t.pod('client');
    const a = t.pod('a');
    server = spawnInNetns(a.ns, ['node', BULK, 'serve', String(PORT)]);
    await waitReady(server, 'bulk server', tailStderr(server));

    const cluster = clusterObjects(t);
    const svc = service('bulk', { clusterIP: VIP, ports: [{ port: 80, targetPort: PORT }] });
    const slice = endpointSlice('bulk', 'IPv4', [{ ip: a.ipv4, node: a.node }], [{ port: PORT }]);
    const inputFile = join(dir, 'input.json');
    writeFileSync(inputFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...cluster, svc, slice] }));
    mkdirSync(join(dir, 'endpoints'));
    const planned = collectInputs([...cluster.filter((o) => o.kind === 'ServiceCIDR'), svc].map((object) => ({ object, source: 'bench' }))).plan;
    writeFileSync(join(dir, 'plan.json'), serializePlan(planned));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cluster.find((o) => o.kind === 'KubeProxyConfiguration')));
    writeFileSync(join(dir, 'endpoints', 'node.json'), JSON.stringify(cluster.find((o) => o.kind === 'Node')));
    writeFileSync(join(dir, 'endpoints', 'bulk.json'), JSON.stringify(slice));

    process.stderr.write('direct to the pod...\n');
    const direct = await measure(client, a.ipv4, PORT);

    process.stderr.write('nftables...\n');
    const applied = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'apply', '--backend', 'nftables', '-f', inputFile, '--node-name', 'node1'], { reject: false });
    if (applied.exitCode !== 0) throw new Error(`nftables apply: ${applied.stderr}`);
    const nft = await measure(client, VIP, 80);
    await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'cleanup']);

    process.stderr.write('userspace...\n');
    const started = startUserspaceAgent(t.node1.ns, dir);
    agent = started.child;
    await started.waitSynced(0, 'the userspace agent to sync');
    const user = await measure(client, VIP, 80);

    const pct = (u: number, n: number) => `${((u / n) * 100).toFixed(0)} %`;
    const row = (what: string, f: (m: Measured) => number, digits: number) =>
      `| ${what} | ${f(direct).toFixed(digits)} | ${f(nft).toFixed(digits)} | ${f(user).toFixed(digits)} | ${pct(f(user), f(nft))} |`;
    const md = [
      '## Userspace proxy vs nftables (issue 9)',
      '',
      `Same namespace topology (test/e2e/lib): client pod → ClusterIP ${VIP}:80 → one endpoint pod on node1, all on one bridge.`,
      `Client and server are Node processes (test/userspace/fixtures/bulk.mjs); the userspace relay is the real \`svcplane agent --backend userspace\`.`,
      `Median of ${ROUNDS} rounds; ${cpus().length} vCPUs shared by client, server and relay; ${new Date().toISOString().slice(0, 10)}.`,
      '',
      '| measure | pod IP directly | nftables | userspace | userspace / nftables |',
      '|---|---|---|---|---|',
      row(`throughput, 1 connection (${SINGLE_BYTES / 1e6} MB), MB/s`, (m) => m.singleMBs, 0),
      row(`throughput, ${MULTI} connections (${MULTI_BYTES / 1e6} MB each), MB/s`, (m) => m.multiMBs, 0),
      row(`new connections/s (1-byte request/answer, ${RATE_CONCURRENCY} at a time, ${RATE_SECONDS} s)`, (m) => m.connsPerSecond, 0),
      '',
      `Failed transfers or connections: direct ${direct.failed}, nftables ${nft.failed}, userspace ${user.failed}.`,
      'Each relayed byte crosses the kernel twice more (into the relay and out of it) and costs the relay CPU that the',
      'client and server also need on this 2-core machine; each relayed connection is two TCP connections and an accept.',
      '',
    ].join('\n');
    process.stdout.write(md);
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, md);
  } finally {
    if (agent) await stopProcess(agent, 3000);
    if (server) await stopProcess(server);
    await t.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
