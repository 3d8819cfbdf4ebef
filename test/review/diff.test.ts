// `svcplane diff`, the real CLI: two dist/-like folders made in a temporary folder, and
// the same trees as two commits of a throw-away git repository (made in os.tmpdir(),
// never in this checkout). Words, markdown (same input, same bytes) and JSON; exit codes.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { DiffReport } from '../../src/review/report.js';
import { NEW_OBJECTS, OLD_OBJECTS, writeTree } from './trees.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function svcplane(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('svcplane diff', { timeout: 180_000 }, () => {
  let tmp = '';
  let oldDir = '';
  let newDir = '';
  let repo = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'svcplane-diff-'));
    oldDir = writeTree(join(tmp, 'old'), OLD_OBJECTS);
    newDir = writeTree(join(tmp, 'new'), NEW_OBJECTS);
    // A throw-away repository: the old tree committed as dist/, then the new one.
    repo = join(tmp, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]) => execa('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args]);
    await git('init', '-q');
    cpSync(oldDir, join(repo, 'dist'), { recursive: true });
    await git('add', 'dist');
    await git('commit', '-q', '-m', 'old');
    rmSync(join(repo, 'dist'), { recursive: true });
    cpSync(newDir, join(repo, 'dist'), { recursive: true });
    await git('add', '-A', 'dist');
    await git('commit', '-q', '-m', 'new');
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('two folders: one line per change, per Service, with the rule objects each backend changes', async () => {
    const r = await svcplane(['diff', oldDir, newDir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    // Semantic changes, in words.
    for (const l of [
      'shop/api: port http: nodePort 30443 -> 30444',
      'shop/api: external traffic policy Cluster -> Local',
      'shop/fresh: added: ClusterIP, cluster IPs 10.96.0.40, ports http 8080/TCP -> 8080, 1 endpoint(s)',
      'shop/gone: removed: ClusterIP, cluster IPs 10.96.0.30, ports http 80/TCP -> 80, 0 endpoint(s)',
      'shop/web: session affinity None -> ClientIP (10800 s)',
      'shop/web: endpoint 10.244.1.12 (ready, node node1, ports http=8080/TCP) added',
    ]) {
      assert.ok(lines.includes(l), `missing line ${JSON.stringify(l)} in:\n${r.stdout}`);
    }
    // Every Service with a change has a rules line per backend, attributed to it.
    for (const svc of ['shop/api', 'shop/fresh', 'shop/gone', 'shop/web']) {
      for (const b of ['nftables', 'iptables', 'ipvs']) assert.ok(lines.some((l) => l.startsWith(`${svc}: ${b}: `)), `${svc} ${b}:\n${r.stdout}`);
    }
    // An added Service only adds objects, a removed one only removes them.
    for (const l of lines.filter((x) => /^shop\/fresh: (nftables|iptables|ipvs): /.test(x))) assert.doesNotMatch(l, /removed|changed/, l);
    for (const l of lines.filter((x) => /^shop\/gone: (nftables|iptables|ipvs): /.test(x))) assert.doesNotMatch(l, /added|changed/, l);
    // The web Service's new endpoint: one more real server in IPVS.
    assert.ok(lines.some((l) => /^shop\/web: ipvs: .*1 real server added/.test(l)), r.stdout);
    // Sorted by Service, node-wide last.
    const services = lines.map((l) => l.slice(0, l.indexOf(':')));
    const order = services.filter((s) => s !== 'node-wide');
    assert.deepEqual(order, [...order].sort());
    assert.ok(services.indexOf('node-wide') < 0 || services.slice(services.indexOf('node-wide')).every((s) => s === 'node-wide'));
  });

  it('the same tree twice: nothing printed, exit 0, also with --exit-code; differences with --exit-code: exit 1', async () => {
    const same = await svcplane(['diff', oldDir, oldDir, '--exit-code']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout, '');
    assert.match(same.stderr, /no differences/);
    assert.equal((await svcplane(['diff', oldDir, newDir, '--exit-code'])).code, 1);
  });

  it('--markdown: a summary table and the details folded; same input, same bytes', async () => {
    const a = await svcplane(['diff', oldDir, newDir, '--markdown']);
    const b = await svcplane(['diff', oldDir, newDir, '--markdown']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /\| Service \| Change \| nftables \| iptables \| ipvs \|/);
    assert.match(a.stdout, /\| `shop\/fresh` \| added \| \+\d+ \| \+\d+ \| \+\d+ \|/);
    assert.match(a.stdout, /\| `shop\/gone` \| removed \| −\d+ \| −\d+ \| −\d+ \|/);
    assert.match(a.stdout, /\| `shop\/api` \| changed: ports, externalTrafficPolicy \|/);
    assert.match(a.stdout, /<details><summary>Details<\/summary>[\s\S]*- port http: nodePort 30443 -> 30444[\s\S]*<\/details>/);
  });

  it('--json: the report, with every rule object attributed', async () => {
    const r = await svcplane(['diff', oldDir, newDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as DiffReport;
    assert.deepEqual(report.services.map((s) => [s.service, s.status]), [['shop/api', 'changed'], ['shop/fresh', 'added'], ['shop/gone', 'removed'], ['shop/web', 'changed']]);
    const web = report.services.find((s) => s.service === 'shop/web')!;
    const nft = web.rules.find((x) => x.backend === 'nftables')!;
    assert.equal(nft.added + nft.removed + nft.changed, nft.objects.length);
    assert.ok(nft.objects.every((o) => o.service === 'shop/web'));
    assert.ok(nft.objects.some((o) => o.kind === 'set' && o.object.includes('affinity-shop/web/tcp/80__10.244.1.12/8080') && o.change === 'added'), JSON.stringify(nft.objects));
  });

  it('two git revisions give the same words as the two folders: REV, REV:PATH, -C', async () => {
    const folders = await svcplane(['diff', oldDir, newDir]);
    const revs = await svcplane(['diff', '--repo', repo, 'HEAD~1', 'HEAD']);
    assert.equal(revs.code, 0, revs.stderr);
    assert.equal(revs.stdout, folders.stdout);
    const withPath = await svcplane(['diff', '-C', repo, 'HEAD~1:dist', 'HEAD:dist']);
    assert.equal(withPath.code, 0, withPath.stderr);
    assert.equal(withPath.stdout, folders.stdout);
    // A revision against a folder works too.
    assert.equal((await svcplane(['diff', '-C', repo, 'HEAD', newDir])).stdout, '');
  });

  it('bad input: exit 2 naming the folder, the revision, or the file and field', async () => {
    const missing = await svcplane(['diff', join(tmp, 'nope'), newDir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope.*neither an existing folder nor a revision/);

    const rev = await svcplane(['diff', '-C', repo, 'no-such-rev', 'HEAD']);
    assert.equal(rev.code, 2);
    assert.match(rev.stderr, /no-such-rev/);

    const path = await svcplane(['diff', '-C', repo, 'HEAD:elsewhere', 'HEAD']);
    assert.equal(path.code, 2);
    assert.match(path.stderr, /no such folder "elsewhere" at revision HEAD/);

    const bad = join(tmp, 'bad');
    cpSync(newDir, bad, { recursive: true });
    writeFileSync(join(bad, 'rules', 'plan.json'), JSON.stringify({ apiVersion: 'svcplane.io/v1alpha1', kind: 'ServicePlan', serviceCIDRs: [], nodePortRange: { min: 30000, max: 0 }, services: [] }));
    const plan = await svcplane(['diff', oldDir, bad]);
    assert.equal(plan.code, 2);
    assert.match(plan.stderr, /bad\/rules\/plan\.json.*ServicePlan.*nodePortRange\.max/);
  });
});
