// `svcplane agent` as a process (nftables, in a throw-away namespace): its JSON log
// lines under -v and --log-level (issue 18 §3, §4). -v 3 is debug with the changed
// Services on each sync line, and the start line names the plan's digest and revision;
// --log-level warn syncs the same rules and writes no line below warn.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import readline from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planDigest, serializePlan } from '../../src/model/plan.js';
import { plan, port, svc } from '../helpers/model.js';
import { createNetns, deleteNetns, nsExec, RUN_PREFIX, spawnInNetns, stopProcess, type NetnsProcess } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { endpointSlice } from './suite/manifests.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PLAN = { ...plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })]), revision: 'e2e-rev-1' };

type Line = Record<string, unknown> & { level: number; msg: string };

describe('svcplane agent: log levels and the plan on the log lines', { timeout: 600_000 }, () => {
  let ns: string;
  let dir: string;
  const children: NetnsProcess[] = [];

  before(async () => {
    await requireTools(['nft']);
    ns = await createNetns(`${RUN_PREFIX}agentlog`);
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-logs-'));
    writeFileSync(join(dir, 'plan.json'), serializePlan(PLAN));
  });

  after(async () => {
    for (const c of children) await stopProcess(c, 20_000);
    if (ns) await deleteNetns(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const writeEndpoints = (ips: string[]) =>
    writeFileSync(join(dir, 'eps.json'), JSON.stringify(endpointSlice('web', 'IPv4', ips.map((ip) => ({ ip, node: 'node1' })), [{ port: 80 }])));

  /** Starts the agent; its stderr JSON lines collect in `lines`. */
  function start(extra: string[]): { child: NetnsProcess; lines: Line[]; other: string[] } {
    const child = spawnInNetns(ns, ['node', '--import', 'tsx', CLI, 'agent', '--backend', 'nftables', '--plan', join(dir, 'plan.json'), '--endpoints-file', join(dir, 'eps.json'),
      '--node-name', 'node1', '--health-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', ...extra]);
    children.push(child);
    const lines: Line[] = [];
    const other: string[] = [];
    readline.createInterface({ input: child.stderr }).on('line', (l) => {
      try {
        lines.push(JSON.parse(l) as Line);
      } catch {
        other.push(l);
      }
    });
    return { child, lines, other };
  }

  async function until(what: string, f: () => boolean | Promise<boolean>, show: () => string): Promise<void> {
    const end = Date.now() + 180_000;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${show()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('-v 3: debug lines, the sync line names the changed Service, the start line names the plan', async () => {
    writeEndpoints(['10.244.1.10']);
    const a = start(['--v=3']);
    const show = () => JSON.stringify(a.lines.slice(-30)) + a.other.join('\n');
    await until('the first sync', () => a.lines.some((l) => l.msg === 'synced'), show);
    writeEndpoints(['10.244.1.10', '10.244.1.11']);
    await until('the endpoint sync', () => a.lines.filter((l) => l.msg === 'synced').length >= 2, show);
    await stopProcess(a.child, 20_000);
    const started = a.lines.find((l) => l.msg === 'plan in force')!;
    assert.deepEqual([started.planDigest, started.planRevision, started.planSource], [planDigest(PLAN), 'e2e-rev-1', 'plan']);
    assert.ok(a.lines.some((l) => l.level === 20 && l.msg === 'endpoint files reloaded'), 'debug lines at -v 3');
    const second = a.lines.filter((l) => l.msg === 'synced')[1]!;
    assert.deepEqual([second.full, second.endpointsChanged, second.changed], [false, 1, ['default/web']], show());
    assert.ok((second.sent as number) > 0, 'the endpoint went to the kernel');
  });

  it('--log-level warn: the same rules in the kernel, no line below warn', async () => {
    await nsExec(ns, ['nft', 'flush', 'ruleset']);
    writeEndpoints(['10.244.1.20']);
    const b = start(['--log-level', 'warn', '-v', '5']);
    const show = () => JSON.stringify(b.lines) + b.other.join('\n');
    await until('the rules', async () => (await nsExec(ns, ['nft', 'list', 'ruleset'])).stdout.includes('10.244.1.20'), show);
    await stopProcess(b.child, 20_000);
    assert.deepEqual(b.lines.filter((l) => l.level < 40), [], '--log-level wins over -v');
  });
});
