// Start-up of the svcplane command: --version and the top-level help come from the
// command table, and a command loads only its own module graph (a render of one
// Service never pulls in the API client, cdk8s or execa). Asserted on the modules a
// real child process resolves, not on time.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { COMMANDS } from '../../src/cli/commands.js';
import { buildFullProgram } from '../../src/cli/program.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RECORDER = fileURLToPath(new URL('../helpers/record-imports.mjs', import.meta.url));
const WEB = fileURLToPath(new URL('./fixtures/web.yaml', import.meta.url));

async function svcplane(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI and returns the module URLs it resolved. */
async function importsOf(args: string[]): Promise<{ code: number | undefined; urls: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-imports-'));
  const file = join(dir, 'imports');
  try {
    const r = await execa('node', ['--import', 'tsx', '--import', RECORDER, CLI, ...args], {
      reject: false,
      env: { SVCPLANE_RECORD_IMPORTS: file },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const urls = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    return { code: r.exitCode, urls };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const loadsPackage = (urls: readonly string[], pkg: string) => urls.some((u) => u.includes(`/node_modules/${pkg}/`));

describe('svcplane start-up', () => {
  it('--version prints the version in package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await svcplane(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('--help lists every command with the description its module registers', async () => {
    const r = await svcplane(['--help']);
    assert.equal(r.code, 0, r.stderr);
    const full = await buildFullProgram();
    const registered = new Map(full.commands.map((c) => [c.name(), c.description()]));
    assert.deepEqual([...registered.keys()].sort(), COMMANDS.map((c) => c.name).sort(), 'the table names every command module');
    for (const c of COMMANDS) {
      assert.match(r.stdout, new RegExp(`^  ${c.name}\\b`, 'm'), `${c.name} in the help`);
      assert.equal(c.description, registered.get(c.name), `the table's description of ${c.name} is its module's`);
    }
  });

  it('a command\'s own help still shows its options (its module is loaded for it)', async () => {
    const r = await svcplane(['render', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--backend <name>/);
    const viaHelp = await svcplane(['help', 'render']);
    assert.match(viaHelp.stdout, /--backend <name>/);
  });

  it('render of one Service loads neither @kubernetes/client-node, cdk8s nor execa', async () => {
    const { urls } = await importsOf(['render', '--backend', 'nftables', '-f', WEB, '--node-ip', '192.168.50.1']);
    // commander, not yaml: read.ts requires yaml on the first YAML text (CommonJS), which an ESM resolve hook does not see.
    assert.ok(loadsPackage(urls, 'commander'), 'the recorder sees the packages render does load');
    for (const pkg of ['@kubernetes/client-node', 'cdk8s', 'execa']) assert.ok(!loadsPackage(urls, pkg), `render loaded ${pkg}`);
  });

  it('render of manifests without a plan or a KubeProxyConfiguration does not load zod (only those two kinds are read through a schema)', async () => {
    const { urls } = await importsOf(['render', '--backend', 'nftables', '-f', WEB, '--node-ip', '192.168.50.1']);
    assert.ok(!loadsPackage(urls, 'zod'), 'render of a Service loaded zod');
  });

  it('--help loads no command module', async () => {
    const { urls } = await importsOf(['--help']);
    assert.ok(!urls.some((u) => /\/src\/(backends|manifests|agent)\//.test(u)), urls.filter((u) => u.includes('/src/')).join('\n'));
  });
});
