// The agent's container image, run as the NodeAgent DaemonSet runs it: `npm run image`
// builds it (scripts/image.sh), then podman runs `svcplane agent` from it in node1's
// network namespace (--network ns:, never podman's bridge), capabilities dropped but
// NET_ADMIN and NET_RAW, the plan and the EndpointSlices mounted read-only, offline
// mode. Real connections go through the Service it programs, an EndpointSlice change
// reaches the kernel, and the same container without NET_ADMIN stops at once with a
// message naming the capability.

import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { connectMany, type Target } from './lib/client.js';
import { RUN_PREFIX } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { until } from './lib/wait.js';
import { clusterObjects, endpointSlice, service, type EndpointSpec } from './suite/manifests.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PODMAN = ['bash', join(REPO, 'scripts', 'podman.sh')];
const VIP = '10.96.0.10';
const PORTS = [{ name: 'tcp', port: 80, protocol: 'TCP' as const }];
const IN_CONTAINER = '/etc/svcplane';

function exec(argv: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A container run in the foreground, its output collected; removed with `podman rm -f` whatever happens. */
class Container {
  readonly name: string;
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number>;

  constructor(name: string, runArgs: string[]) {
    this.name = name;
    this.child = spawn(PODMAN[0]!, [...PODMAN.slice(1), 'run', '--rm', '--name', name, ...runArgs], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => (this.output += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  }

  async remove(): Promise<void> {
    await exec([...PODMAN, 'rm', '--force', '--time', '0', '--ignore', this.name], 120_000);
  }
}

describe('the svcplane image runs the agent as the DaemonSet does', { timeout: 1_800_000 }, () => {
  let image: string;
  let t: Topology;
  let dir: string;
  let client: Pod;
  let a: Pod;
  let c: Pod;
  const containers: Container[] = [];

  const ep = (p: Pod): EndpointSpec => ({ ip: p.ipv4, node: p.node });
  function writeEndpoints(endpoints: EndpointSpec[]): void {
    const tmp = join(dir, 'slice.json.tmp');
    writeFileSync(tmp, JSON.stringify(endpointSlice('web', 'IPv4', endpoints, PORTS)));
    renameSync(tmp, join(dir, 'endpoints', 'web-v4.json'));
  }

  /** `podman run` as the DaemonSet: node1's namespace, all capabilities dropped but `caps`, config read-only. */
  function runAgent(suffix: string, caps: string[]): Container {
    const c = new Container(`${RUN_PREFIX}${suffix}`, [
      `--network=ns:/run/netns/${t.node1.ns}`,
      '--cap-drop=ALL', ...caps.map((cap) => `--cap-add=${cap}`),
      '--security-opt=no-new-privileges',
      '--volume', `${dir}:${IN_CONTAINER}:ro`,
      image,
      'agent', '--backend', 'nftables',
      '--plan', `${IN_CONTAINER}/plan.json`,
      '--config', `${IN_CONTAINER}/config.json`,
      '--endpoints-file', `${IN_CONTAINER}/endpoints`,
      '--node-name', 'node1',
      '--health-addr', '127.0.0.1:10256',
      '--metrics-addr', '127.0.0.1:10249',
    ]);
    containers.push(c);
    return c;
  }

  const synced = (c: Container) => c.output.split('\n').filter((l) => l.includes('"msg":"synced"')).length;

  before(async () => {
    await requireTools(['podman', 'runc', 'mmdebstrap', 'nft']);
    // Cold (no base image yet) this makes the base with mmdebstrap: minutes, mostly download.
    const built = await exec(['bash', 'scripts/image.sh'], 1_500_000);
    assert.equal(built.code, 0, `npm run image failed:\n${built.stderr.slice(-4000)}`);
    image = built.stdout.trim().split('\n').pop()!;
    assert.match(image, /^svcplane:\d+\.\d+\.\d+/);

    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }], node2: [{ name: 'c' }] } });
    client = t.pod('client');
    a = t.pod('a');
    c = t.pod('c');
    dir = mkdtempSync(join(tmpdir(), 'svcplane-image-e2e-'));
    mkdirSync(join(dir, 'endpoints'));
    const cluster = clusterObjects(t);
    const svc = service('web', { clusterIP: VIP, clusterIPs: [VIP], ports: PORTS.map((p) => ({ ...p, targetPort: 80 })) });
    const planned = collectInputs([...cluster.filter((o) => o.kind === 'ServiceCIDR'), svc].map((object) => ({ object, source: 'e2e' }))).plan;
    writeFileSync(join(dir, 'plan.json'), serializePlan(planned));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cluster.find((o) => o.kind === 'KubeProxyConfiguration')));
    writeFileSync(join(dir, 'endpoints', 'node.json'), JSON.stringify(cluster.find((o) => o.kind === 'Node')));
    writeEndpoints([ep(a), ep(c)]);
  });

  after(async () => {
    for (const k of containers) await k.remove();
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('programs node1 from the image: connections reach both endpoints, then follow an EndpointSlice change', async () => {
    const agent = runAgent('image-agent', ['NET_ADMIN', 'NET_RAW']);
    const logTail = () => `\ncontainer output:\n${agent.output.split('\n').slice(-25).join('\n')}`;
    await until('the first sync in the container', () => synced(agent) > 0 || agent.child.exitCode !== null, 120_000, 200);
    assert.ok(synced(agent) > 0, `the agent did not sync${logTail()}`);

    const tcp: Target = { ip: VIP, port: 80, proto: 'tcp', timeoutMs: 2000 };
    const before = await connectMany(client, tcp, 30);
    assert.deepEqual([...before.servers].sort(), ['a', 'c'], `servers seen through ${VIP}: ${JSON.stringify(before.counts)}, failures ${JSON.stringify(before.failures)}${logTail()}`);
    assert.equal(before.failures.length, 0);

    const n = synced(agent);
    writeEndpoints([ep(a)]);
    await until('the sync after the EndpointSlice change', () => synced(agent) > n, 60_000, 200);
    const afterChange = await connectMany(client, tcp, 20);
    assert.deepEqual([...afterChange.servers], ['a'], `after removing c: ${JSON.stringify(afterChange.counts)}${logTail()}`);

    await agent.remove();
  });

  it('without NET_ADMIN the container exits 1 at once, naming the missing capability', async () => {
    const agent = runAgent('image-nocap', ['NET_RAW']);
    const code = await agent.exited;
    assert.equal(code, 1, `exit code; output:\n${agent.output}`);
    assert.match(agent.output, /the nftables backend needs the CAP_NET_ADMIN capability, which this process does not have/);
    assert.match(agent.output, /--cap-add NET_ADMIN/);
  });
});
