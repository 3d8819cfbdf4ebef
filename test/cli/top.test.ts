// `svcplane top` refuses, before reading anything, what it could not show: IPVS's kernel
// counts per address, so without the inputs that name its Services top says so (exit 2)
// instead of printing an empty table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('svcplane top', () => {
  it('--backend ipvs without -f: exit 2, naming -f', async () => {
    const r = await execa('node', ['--import', 'tsx', CLI, 'top', '--backend', 'ipvs', '--once'], { reject: false });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /-f/);
    assert.match(r.stderr, /ipvs counts per address/);
  });
});
