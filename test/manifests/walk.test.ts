// walk.ts: the one walk of manifest files, for the CLI's -f (an entry gone mid-walk is an
// error naming it) and the agent's endpoint files (skipped: the next walk sees the folder
// as it is then). Both see the same files in the same order.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isInputError } from '../../src/model/errors.js';
import { readManifests } from '../../src/manifests/read.js';
import { walkManifestFiles, type MissingEntry } from '../../src/manifests/walk.js';

async function withFolder(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-walk-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function walked(paths: string[], missing?: MissingEntry): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  await walkManifestFiles(paths, (rel, path) => void out.push([rel, path]), missing);
  return out;
}

const SERVICE = 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n';

test('files by name under the folder given, deeper ones by their path under it, dot-entries and other extensions passed over', async () => {
  await withFolder(async (dir) => {
    await writeFile(join(dir, 'b.yaml'), SERVICE);
    await writeFile(join(dir, 'a.JSON'), '{}');
    await writeFile(join(dir, 'c.txt'), 'no');
    await writeFile(join(dir, '.hidden.yaml'), SERVICE);
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'x.yaml'), SERVICE);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'd.yml'), SERVICE);
    assert.deepEqual(await walked([dir]), [
      ['a.JSON', join(dir, 'a.JSON')],
      ['b.yaml', join(dir, 'b.yaml')],
      [join('sub', 'd.yml'), join(dir, 'sub', 'd.yml')],
    ]);
    // A file given by name is walked whatever its extension, with no path under it.
    assert.deepEqual(await walked([join(dir, 'c.txt')]), [['', join(dir, 'c.txt')]]);
  });
});

test('paths that overlap: each file visited once, in the order first met', async () => {
  await withFolder(async (dir) => {
    await writeFile(join(dir, 'a.yaml'), SERVICE);
    await writeFile(join(dir, 'b.yaml'), SERVICE);
    const paths = (await walked([join(dir, 'b.yaml'), dir])).map(([, p]) => p);
    assert.deepEqual(paths, [join(dir, 'b.yaml'), join(dir, 'a.yaml')]);
  });
});

test('a dangling symlink in a folder: skipped by the agent, an input error naming it for the CLI', async () => {
  await withFolder(async (dir) => {
    await writeFile(join(dir, 'a.yaml'), SERVICE);
    await symlink(join(dir, 'gone.yaml'), join(dir, 'b.yaml'));
    await writeFile(join(dir, 'c.yaml'), SERVICE);
    assert.deepEqual((await walked([dir], 'skip')).map(([rel]) => rel), ['a.yaml', 'c.yaml']);
    const named = (e: unknown) => isInputError(e) && e.message.includes(join(dir, 'b.yaml')) && /no such file or folder/.test(e.message);
    await assert.rejects(walked([dir], 'fail'), named);
    // What `svcplane render -f <folder>` reads: it fails naming the link (exit 2), not with an unnamed error.
    await assert.rejects(readManifests([dir]), named);
  });
});

test('a path given that does not exist is an input error naming it, whether entries are skipped or not', async () => {
  await withFolder(async (dir) => {
    for (const missing of ['skip', 'fail'] as const) {
      await assert.rejects(walked([join(dir, 'nope')], missing), (e) => isInputError(e) && e.message.includes(join(dir, 'nope')));
    }
  });
});

test('the visit is awaited before the walk goes on', async () => {
  await withFolder(async (dir) => {
    for (const n of ['a.yaml', 'b.yaml', 'c.yaml']) await writeFile(join(dir, n), SERVICE);
    const events: string[] = [];
    await walkManifestFiles([dir], async (rel) => {
      events.push(`start ${rel}`);
      await new Promise<void>((resolve) => setImmediate(resolve));
      events.push(`end ${rel}`);
    });
    assert.deepEqual(events, ['start a.yaml', 'end a.yaml', 'start b.yaml', 'end b.yaml', 'start c.yaml', 'end c.yaml']);
  });
});
