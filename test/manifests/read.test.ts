import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isInputError } from '../../src/model/errors.js';
import { flattenList, listManifestFiles, parseManifestText, readManifests } from '../../src/manifests/read.js';

const FIX = join(import.meta.dirname, 'fixtures');

test('YAML with several documents: empty ones dropped, sources numbered', () => {
  const docs = parseManifestText('kind: A\n---\n---\n# only a comment\n---\nkind: B\n', 'x.yaml');
  assert.deepEqual(
    docs.map((d) => [d.source, (d.object as { kind: string }).kind]),
    [
      ['x.yaml#1', 'A'],
      ['x.yaml#4', 'B'],
    ],
  );
  assert.deepEqual(parseManifestText('', 'empty.yaml'), []);
  assert.deepEqual(parseManifestText('# nothing\n', 'c.yaml'), []);
});

test('JSON: an object, or an array of objects', () => {
  assert.deepEqual(parseManifestText('{"kind":"A"}', 'a.json', 'json').map((d) => d.object), [{ kind: 'A' }]);
  const arr = parseManifestText(' [{"kind":"A"},{"kind":"B"}]', '-');
  assert.deepEqual(arr.map((d) => d.source), ['-#1', '-#2']);
});

test('Lists are flattened; typed list items inherit kind and apiVersion', () => {
  const docs = parseManifestText(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'ServiceList', items: [{ metadata: { name: 'b' } }, { kind: 'Service', metadata: { name: 'c' } }] },
      ],
    }),
    'l.json',
  );
  assert.deepEqual(
    docs.map((d) => [d.source, d.object]),
    [
      ['l.json#1.items[0]', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }],
      ['l.json#1.items[1].items[0]', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' } }],
      ['l.json#1.items[1].items[1]', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } }],
    ],
  );
  // Something called *List without items is an ordinary object.
  const plain = { file: 'f', document: 1, source: 'f#1', object: { kind: 'AllowList', spec: {} } };
  assert.deepEqual(flattenList(plain), [plain]);
});

test('bad YAML and bad JSON name the file, the document and the position', () => {
  assert.throws(
    () => parseManifestText('kind: A\n---\nkind: B\n  name: x\n', 'y.yaml'),
    (e) => isInputError(e) && e.source === 'y.yaml' && /document 2: not valid YAML at line 3, column 7: Nested mappings are not allowed in compact mappings$/.test(e.message),
  );
  assert.throws(() => parseManifestText('{"kind": ', 'z.json', 'json'), (e) => isInputError(e) && /z\.json: -f: not valid JSON/.test(e.message));
  assert.throws(() => parseManifestText('a: 1\na: 2\n', 'dup.yaml'), /not valid YAML/);
});

test('a folder is read recursively, sorted, manifests only, dot-folders skipped', async () => {
  const docs = await readManifests([join(FIX, 'cluster')]);
  const files = [...new Set(docs.map((d) => d.file.slice(FIX.length + 1)))];
  assert.deepEqual(files, ['cluster/endpointslices.yaml', 'cluster/more/cluster.json', 'cluster/node.yaml', 'cluster/services.yaml']);
  assert.equal(docs.length, 2 + 3 + 1 + 2);
  assert.equal(docs.find((d) => d.file.endsWith('cluster.json'))?.source.slice(FIX.length + 1), 'cluster/more/cluster.json#1.items[0]');
});

test('a folder larger than one batch of stats is listed whole, sorted, subfolders in place', async () => {
  // The walk (walk.ts) lets the event loop go between batches of stats: files on both sides
  // of a batch's edge, and a subfolder inside a later batch, keep their places.
  const dir = await mkdtemp(join(tmpdir(), 'svp-list-'));
  try {
    const names = Array.from({ length: 150 }, (_, i) => `s-${String(i).padStart(3, '0')}.json`);
    for (const n of names) await writeFile(join(dir, n), '{}');
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    await mkdir(join(dir, 's-100-sub'));
    await writeFile(join(dir, 's-100-sub', 'inner.yaml'), 'a: 1\n');
    const listed = (await listManifestFiles([dir])).map((path) => path.slice(dir.length + 1));
    const want = [...names.slice(0, 100), 's-100-sub/inner.yaml', ...names.slice(100)]; // '-' sorts before '.'
    assert.deepEqual(listed, want);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files are read in the order given; - reads stdin', async () => {
  const stdin = Readable.from([Buffer.from('apiVersion: v1\nkind: Service\nmetadata: {name: s}\n')]);
  const docs = await readManifests([join(FIX, 'plan.json'), '-'], { stdin });
  assert.deepEqual(docs.map((d) => (d.object as { kind: string }).kind), ['ServicePlan', 'Service']);
  assert.equal(docs[1]!.source, '<stdin>#1');
  await assert.rejects(readManifests(['-', '-'], { stdin: Readable.from([]) }), /only once/);
});

test('a missing path and a broken file are input errors', async () => {
  await assert.rejects(readManifests([join(FIX, 'nope.yaml')]), (e) => isInputError(e) && /no such file or folder/.test(e.message));
  await assert.rejects(readManifests([join(FIX, 'broken.yaml')]), (e) => isInputError(e) && /broken\.yaml: -f: document 1: not valid YAML at line 4, column 9: /.test(e.message));
});
