// The npm package as a user gets it: `npm pack`, then a fresh cdk8s TypeScript project
// (test/package/fixtures/user-app) installs the tarball with cdk8s, constructs,
// cdk8s-plus-33 and TypeScript by package name, type-checks and synthesises, exactly
// as README "Use it in your own cdk8s app" says. Offline: the registry is a local
// server over this machine's npm cache (cache-registry.ts).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startCacheRegistry, type CacheRegistry } from './cache-registry.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/user-app', import.meta.url));
const CDK8S_CLI = join(REPO, 'node_modules', '.bin', 'cdk8s');

interface Run { code: number; stdout: string; stderr: string }

/** Runs a command without a shell; npm_* variables of an enclosing `npm test` are not passed on. */
function run(argv: string[], cwd: string, timeoutMs = 600_000): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(argv: string[], cwd: string): Promise<Run> {
  const r = await run(argv, cwd);
  assert.equal(r.code, 0, `${argv.join(' ')} (in ${cwd}) exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

type Manifest = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

function manifestsIn(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.k8s.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJSON() as Manifest));
}

describe('the npm package, packed and installed into a fresh cdk8s project', { timeout: 900_000 }, () => {
  let tmp: string;
  let app: string;
  let tarball: string;
  let pkg: { name: string; version: string };
  let registry: CacheRegistry | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'svcplane-pack-'));
    const packed = await ok(['npm', 'pack', '--pack-destination', tmp, '--json'], REPO);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
    tarball = join(tmp, info.filename);
    pkg = JSON.parse((await ok(['tar', '-xzOf', tarball, 'package/package.json'], tmp)).stdout);
    registry = await startCacheRegistry({
      lockFile: join(REPO, 'package-lock.json'),
      cacheDir: (await ok(['npm', 'config', 'get', 'cache'], REPO)).stdout.trim(),
      extra: [{ tarball, packageJson: pkg }],
    });
    app = join(tmp, 'my-cluster');
    cpSync(FIXTURE, app, { recursive: true });
  });

  after(async () => {
    await registry?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs lib/ with declarations, README and LICENSE, and no tests, sources or example app', async () => {
    const files = (await ok(['tar', '-tzf', tarball], tmp)).stdout.split('\n').filter(Boolean);
    for (const f of ['package/lib/constructs/index.js', 'package/lib/constructs/index.d.ts', 'package/lib/cli/main.js', 'package/README.md', 'package/LICENSE']) {
      assert.ok(files.includes(f), `${f} in the tarball`);
    }
    const stray = files.filter((f) => !/^package\/(lib\/.+\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(f) || /^package\/lib\/(main|example-app)\./.test(f));
    assert.deepEqual(stray, []);
    assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
    assert.equal((pkg as { private?: boolean }).private, undefined);
  });

  it('installs by package name with one copy of cdk8s and constructs shared with the app', async () => {
    await ok(['npm', 'install', '--registry', registry!.url, '--no-audit', '--no-fund',
      'svcplane', 'cdk8s', 'constructs', 'cdk8s-plus-33', 'typescript', '@types/node@20'], app);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'svcplane', 'package.json'), 'utf8'));
    assert.equal(installed.version, pkg.version);
    for (const peer of ['cdk8s', 'constructs', 'cdk8s-plus-33']) {
      assert.ok(existsSync(join(app, 'node_modules', peer, 'package.json')), `${peer} at the app's top level`);
      assert.ok(!existsSync(join(app, 'node_modules', 'svcplane', 'node_modules', peer)), `no second ${peer} under svcplane`);
    }
  });

  it('type-checks the user code against the published types and refuses a misspelt prop', async () => {
    await ok(['npx', '--no-install', 'tsc'], app);
    assert.ok(existsSync(join(app, 'main.js')));
    const typo = await run(['npx', '--no-install', 'tsc', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', 'typo.ts'], app);
    assert.notEqual(typo.code, 0, 'tsc must refuse typo.ts');
    assert.match(typo.stdout, /typo\.ts\(\d+,\d+\): error TS\d+: .*'selectr' does not exist in type 'ClusterIPServiceProps'/);
  });

  it('cdk8s synth writes the manifests and rules/; the cdk8s-plus Deployment selects the svcplane Service', async () => {
    await ok([CDK8S_CLI, 'synth', '--check-upgrade=false'], app);
    const dist = join(app, 'dist');
    const ms = manifestsIn(dist);
    const svc = (name: string) => ms.find((m) => m.kind === 'Service' && m.metadata.name === name);
    const web = svc('web');
    const deployment = ms.find((m) => m.kind === 'Deployment');
    assert.ok(web && deployment, `Service web and the Deployment among ${ms.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
    assert.deepEqual(web.spec.selector, deployment.spec.selector.matchLabels, "the Service selects the Deployment's pods");
    assert.deepEqual(svc('front')?.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(
      ms.filter((m) => m.kind === 'Service').map((m) => [m.metadata.name, m.spec.type, m.metadata.labels?.['service.kubernetes.io/service-proxy-name']]).sort(),
      [['admin', 'NodePort', 'svcplane'], ['front', 'LoadBalancer', 'svcplane'], ['web', 'ClusterIP', 'svcplane']],
    );
    assert.equal(svc('admin')!.spec.ports[0].nodePort, 30443);
    const ds = ms.find((m) => m.kind === 'DaemonSet')!;
    assert.equal(ds.spec.template.spec.containers[0].image, `svcplane:${pkg.version}`);
    assert.ok(ms.some((m) => m.kind === 'ConfigMap' && m.metadata.name === 'svcplane-plan'));

    assert.deepEqual(readdirSync(join(dist, 'rules')).sort(), ['iptables.rules', 'ipvs.rules', 'nftables.json', 'plan.json']);
    const plan = JSON.parse(readFileSync(join(dist, 'rules', 'plan.json'), 'utf8')) as { services: { namespace: string; name: string }[] };
    assert.deepEqual(plan.services.map((s) => `${s.namespace}/${s.name}`).sort(), ['shop/admin', 'shop/front', 'shop/web']);
    assert.match(readFileSync(join(dist, 'rules', 'iptables.rules'), 'utf8'), /shop\/web/);
  });

  it("importing svcplane loads the constructs, not the agent's or the CLI's libraries", async () => {
    const r = await ok(['node', '--import', './trace-imports.mjs', '--input-type=module', '-e', "const s = await import('svcplane'); if (!s.SvcplaneApp) process.exit(3);"], app);
    const loaded = new Set([...r.stderr.matchAll(/^loaded (.+)$/gm)].map((m) => m[1]!));
    assert.ok(loaded.has('svcplane') && loaded.has('cdk8s'), `the trace saw the imports: ${[...loaded].join(', ')}`);
    for (const heavy of ['@kubernetes/client-node', 'pino', 'prom-client', 'commander', 'execa']) {
      assert.ok(!loaded.has(heavy), `${heavy} is loaded by import('svcplane'): ${[...loaded].sort().join(', ')}`);
    }
  });
});
