// What an operator sees of a running agent (issue 18 §3, §4): which plan it enforces
// (svcplane_plan_info, /configz, the log lines of every plan load) and its JSON log
// lines (one info line per sync saying what changed, nothing else at info in steady
// state, errors as `err` objects). A real Agent in offline mode with a fake backend.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import type { Syncer as RulesSyncer } from '../../src/backends/syncer.js';
import { planDigest, serializePlan, type Plan } from '../../src/model/plan.js';
import { plan, port, sliceManifest, svc } from '../helpers/model.js';
import { offlineAgentOptions } from './offline-agent.js';

type LogLine = Record<string, unknown> & { level: number; msg: string };

const PLAN_V1: Plan = { ...plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })]), revision: 'commit-1' };
const PLAN_V2: Plan = { ...plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] }), svc({ name: 'api', clusterIPs: ['10.96.0.11'], ports: [port(80)] })]), revision: 'commit-2' };

const slice = (name: string, ips: string[]) => JSON.stringify(sliceManifest(name, ips));

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Running {
  readonly agent: Agent;
  readonly dir: string;
  readonly lines: LogLine[];
  readonly syncs: () => number;
  get(path: string): Promise<string>;
}

/** An offline agent on PLAN_V1 and web's endpoints; `fail(n)` makes the n-th sync's apply throw. */
async function withAgent(opts: { level: string; logDetail?: boolean; fail?: (n: number) => boolean }, fn: (r: Running) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-observe-'));
  writeFileSync(join(dir, 'plan.json'), serializePlan(PLAN_V1));
  writeFileSync(join(dir, 'web.json'), slice('web', ['10.244.1.10']));
  const lines: LogLine[] = [];
  let n = 0;
  const rules: RulesSyncer = {
    backend: 'fake',
    async sync(_input, req) {
      n++;
      if (opts.fail?.(n)) throw new Error(`nft: transaction refused (sync ${n})`);
      return { full: req.full, changes: req.full ? 7 : 2 };
    },
  };
  const agent = new Agent({
    ...offlineAgentOptions(dir, '172.18.0.1'),
    backend: 'nftables',
    // The agent's own JSON lines, as pino writes them to stderr.
    log: pino({ level: opts.level }, { write: (l: string) => void lines.push(JSON.parse(l) as LogLine) }),
    ...(opts.logDetail ? { logDetail: true } : {}),
    rules,
    metrics: createAgentMetrics({ backend: 'nftables' }),
  });
  await agent.start();
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${agent.listening.metrics!.port}${path}`)).text();
  try {
    await fn({ agent, dir, lines, syncs: () => n, get });
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const planInfo = (metrics: string) => metrics.split('\n').filter((l) => l.startsWith('svcplane_plan_info'));

test('svcplane_plan_info, /configz and the log name the plan in force; a reload replaces the series', async () => {
  await withAgent({ level: 'info' }, async ({ dir, lines, get }) => {
    const d1 = planDigest(PLAN_V1);
    assert.deepEqual(planInfo(await get('/metrics')), [`svcplane_plan_info{digest="${d1}",revision="commit-1",source="plan"} 1`]);
    const started = lines.find((l) => l.msg === 'plan in force');
    assert.equal(started?.planDigest, d1);
    assert.equal(started?.planRevision, 'commit-1');
    const configz = JSON.parse(await get('/configz')) as Record<string, { plan: Record<string, string> }>;
    assert.deepEqual(configz['svcplane.io']!.plan, { digest: d1, revision: 'commit-1', source: 'plan', file: join(dir, 'plan.json') });
    assert.ok('kubeproxy.config.k8s.io' in configz, "kube-proxy's configz stays as it was");

    writeFileSync(join(dir, 'plan.json'), serializePlan(PLAN_V2));
    const d2 = planDigest(PLAN_V2);
    await until('the reload', () => lines.some((l) => l.msg === 'plan reloaded'));
    assert.deepEqual(planInfo(await get('/metrics')), [`svcplane_plan_info{digest="${d2}",revision="commit-2",source="plan"} 1`], 'one series: the old one removed');
    const reloaded = lines.find((l) => l.msg === 'plan reloaded')!;
    assert.deepEqual([reloaded.planDigest, reloaded.planRevision, reloaded.services], [d2, 'commit-2', 1]);

    // A plan edited by hand after synth: refused, the previous one kept and named.
    writeFileSync(join(dir, 'plan.json'), serializePlan(PLAN_V1).replace('"port": 80', '"port": 81'));
    await until('the refusal', () => lines.some((l) => l.msg.startsWith('plan not reloaded')));
    const refused = lines.find((l) => l.msg.startsWith('plan not reloaded'))!;
    assert.equal(refused.planDigest, d2);
    assert.match((refused.err as { message: string }).message, /digest: does not match the plan's content/);
    assert.deepEqual(planInfo(await get('/metrics')), [`svcplane_plan_info{digest="${d2}",revision="commit-2",source="plan"} 1`]);
  });
});

test('info in steady state: one line per sync saying what changed, nothing else; -v 2 detail names the Services', async () => {
  for (const logDetail of [false, true]) {
    await withAgent({ level: 'info', logDetail }, async ({ dir, lines, syncs }) => {
      await until('the first sync', () => syncs() === 1 && lines.some((l) => l.msg === 'synced'));
      const startup = lines.length;
      writeFileSync(join(dir, 'web.json'), slice('web', ['10.244.1.10', '10.244.1.11']));
      await until('the endpoint sync', () => lines.slice(startup).some((l) => l.msg === 'synced'));
      writeFileSync(join(dir, 'plan.json'), serializePlan(PLAN_V2));
      await until('the plan sync', () => lines.slice(startup).filter((l) => l.msg === 'synced').length === 2);
      const first = lines.find((l) => l.msg === 'synced')!;
      assert.equal(first.full, true);
      assert.equal(first.sent, 7);
      const steady = lines.slice(startup).filter((l) => l.level >= 30 && l.msg !== 'plan reloaded');
      assert.deepEqual(steady.map((l) => l.msg), ['synced', 'synced'], `only sync lines at info: ${JSON.stringify(steady)}`);
      const [ep, svcs] = steady;
      assert.deepEqual(
        { full: ep!.full, servicesChanged: ep!.servicesChanged, endpointsChanged: ep!.endpointsChanged, sent: ep!.sent },
        { full: false, servicesChanged: 0, endpointsChanged: 1, sent: 2 },
      );
      assert.deepEqual([svcs!.servicesChanged, svcs!.endpointsChanged], [1, 0]);
      for (const l of steady) assert.ok(typeof l.ms === 'number' && typeof l.waitedMs === 'number');
      if (logDetail) assert.deepEqual([ep!.changed, svcs!.changed], [['default/web'], ['default/api']]);
      else assert.equal(ep!.changed, undefined, 'the Service names only with detail');
    });
  }
});

test('debug shows the reload lines info leaves out; a failed sync is logged with an err object (type, message, stack)', async () => {
  await withAgent({ level: 'debug', fail: (n) => n === 2 }, async ({ dir, lines, syncs }) => {
    await until('the first sync', () => syncs() === 1 && lines.some((l) => l.msg === 'synced'));
    writeFileSync(join(dir, 'web.json'), slice('web', ['10.244.1.12']));
    await until('the failure and the retry', () => lines.some((l) => l.msg.startsWith('sync failed')) && lines.filter((l) => l.msg === 'synced').length === 2);
    assert.ok(lines.some((l) => l.level === 20 && l.msg === 'endpoint files reloaded'));
    const failed = lines.find((l) => l.msg.startsWith('sync failed'))!;
    assert.equal(failed.level, 50);
    const err = failed.err as { type: string; message: string; stack: string };
    assert.equal(err.type, 'Error');
    assert.equal(err.message, 'nft: transaction refused (sync 2)');
    assert.match(err.stack, /^Error: nft: transaction refused[\s\S]*\n\s+at /);
  });
});
