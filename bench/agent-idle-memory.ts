// The idle agent's memory (issue 16: target < 60 MiB), quickly: the compiled agent with
// 2 Services started as bench/agent-memory.ts starts it (same node options, environment
// and flags, in a throw-away namespace), /proc/PID/status read a few seconds after its
// first sync (the idle agent's peak is reached at start and stays), then stopped. No
// periodic resync and no changes: a run takes ~5 s instead of ~70 s, so that builds can
// be compared alternately, in the same load window.
//
//   node --import tsx bench/agent-idle-memory.ts [--backends nftables,iptables] [--sources offline,api]
//        [--runs 3] [--settle-ms 3000] [CLI...]
//
// CLI: compiled entry points to compare (default lib/cli/main.js), e.g. a copy of lib/ of
// an earlier build inside the worktree (so it finds node_modules). Prints one JSON line
// per run: VmHWM, VmRSS, RssAnon, RssFile (KiB) and the CPU time so far (ms).
// BENCH_AGENT_NODE_OPTIONS as in agent-memory.ts; IDLE_TRACE, IDLE_STDOUT and IDLE_NODE_ARGS
// for a closer look (below, where they are read).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeApiChild } from '../test/e2e/lib/fake-api-child.js';
import { createNetns, deleteNetns, RUN_PREFIX, spawnInNetns, stopProcess } from '../test/e2e/lib/netns.js';
import { agentCommand, writeAgentInputs, type AgentBenchBackend as Backend, type AgentBenchSource as Source } from './agent-inputs.js';
import { ENDPOINTS_PER_SERVICE } from './synthetic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = 2;

async function status(pid: number): Promise<Record<string, number>> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const k of ['VmHWM', 'VmRSS', 'RssAnon', 'RssFile']) out[k] = Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  // CPU time so far (utime + stime, clock ticks of 10 ms): fields 14 and 15 after the command's parentheses.
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  out.cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOnce(cli: string, backend: Backend, source: Source, settleMs: number, ns: string): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-idle-'));
  await createNetns(ns);
  let api: FakeApiChild | undefined;
  let agent: ReturnType<typeof spawnInNetns> | undefined;
  try {
    const inputs = await writeAgentInputs(dir, ns, { backend, source, services: SERVICES, perService: ENDPOINTS_PER_SERVICE, minSyncPeriod: '1s', syncPeriod: '60s' });
    api = inputs.api;
    // IDLE_NODE_ARGS: node options that NODE_OPTIONS refuses (most V8 flags), for an experiment.
    agent = spawnInNetns(ns, agentCommand(cli, inputs, [], (process.env.IDLE_NODE_ARGS ?? '').split(' ').filter(Boolean)));
    let log = '';
    // IDLE_STDOUT=FILE: the agent's stdout (e.g. --trace-gc in BENCH_AGENT_NODE_OPTIONS) saved there.
    let stdout = '';
    agent.stdout.setEncoding('utf8');
    agent.stdout.on('data', (c: string) => (stdout += c));
    agent.stderr.setEncoding('utf8');
    agent.stderr.on('data', (c: string) => (log += c));
    // IDLE_TRACE=FILE: VmRSS every 10 ms from the start, beside the agent's log lines, to see where it grows.
    const trace: string[] = [];
    const t0 = Date.now();
    const sampler = process.env.IDLE_TRACE
      ? setInterval(() => {
          status(agent!.pid!).then(
            (s) => trace.push(`${Date.now() - t0} rss ${s.VmRSS} anon ${s.RssAnon} file ${s.RssFile}`),
            () => undefined,
          );
        }, 10)
      : undefined;
    agent.stderr.on('data', (c: string) => {
      if (sampler) for (const l of c.split('\n').filter(Boolean)) trace.push(`${Date.now() - t0} log ${l.slice(0, 160)}`);
    });
    const end = Date.now() + 60_000;
    while (!log.includes('"msg":"synced"')) {
      if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${log.slice(-2000)}`);
      if (/"msg":"(sync failed[^"]*|error[^"]*)"/.test(log)) throw new Error(`agent: ${log.slice(-2000)}`);
      if (Date.now() > end) throw new Error(`no first sync within 60 s: ${log.slice(-2000)}`);
      await sleep(50);
    }
    await sleep(settleMs);
    if (sampler) {
      clearInterval(sampler);
      await writeFile(process.env.IDLE_TRACE!, trace.join('\n'));
    }
    const row = { cli, backend, source, ...(await status(agent.pid!)) };
    if (process.env.IDLE_STDOUT) await writeFile(process.env.IDLE_STDOUT, stdout);
    return row;
  } finally {
    if (agent) await stopProcess(agent, 5000);
    if (api) await api.stop();
    await deleteNetns(ns);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = args[i + 1]!;
    args.splice(i, 2);
    return v;
  };
  const backends = opt('--backends', 'nftables').split(',') as Backend[];
  const sources = opt('--sources', 'offline').split(',') as Source[];
  const runs = Number(opt('--runs', '3'));
  const settleMs = Number(opt('--settle-ms', '3000'));
  const clis = (args.length ? args : ['lib/cli/main.js']).map((c) => resolve(c));
  let n = 0;
  for (let r = 0; r < runs; r++) {
    for (const backend of backends) {
      for (const source of sources) {
        // Alternated: each build runs in the same load window as the others.
        for (const cli of clis) {
          const row = await runOnce(cli, backend, source, settleMs, `${RUN_PREFIX}idle-${n++}`);
          process.stdout.write(`${JSON.stringify({ ...row, cli: cli.replace(`${root}/`, '') })}\n`);
        }
      }
    }
  }
}

await main();
