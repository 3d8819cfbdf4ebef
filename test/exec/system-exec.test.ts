import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandLine, ExecError, runChecked } from '../../src/exec/exec.js';
import { FakeExec } from '../../src/exec/fake.js';
import { systemExec } from '../../src/exec/system-exec.js';

test('input reaches a tool that opens /dev/stdin by path (a regular file, not a pipe)', async () => {
  const r = await systemExec.run({ file: 'cat', args: ['/dev/stdin'], input: 'table ip x\n' });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, 'table ip x');
});

test('a non-zero exit is a result, and runChecked turns it into an ExecError naming the command and stderr', async () => {
  const cmd = { file: process.execPath, args: ['-e', 'process.stderr.write("no such table"); process.exit(3)'] };
  const r = await systemExec.run(cmd);
  assert.equal(r.exitCode, 3);
  await assert.rejects(runChecked(systemExec, cmd), (e: unknown) => {
    assert.ok(e instanceof ExecError);
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /exited 3: no such table$/);
    assert.ok(e.message.startsWith(process.execPath));
    return true;
  });
});

test('a tool that cannot be started is exit 1 with the reason, not a throw', async () => {
  const r = await systemExec.run({ file: '/nonexistent/tool', args: [] });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /ENOENT|not found|nonexistent/);
});

test('timeoutMs kills a tool that hangs', async () => {
  const r = await systemExec.run({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], timeoutMs: 300 });
  assert.notEqual(r.exitCode, 0);
  assert.equal(r.timedOut, true);
  assert.match(new ExecError({ file: 'x', args: [], timeoutMs: 300 }, r).message, /timed out after 300 ms/);
});

test('commandLine quotes what a shell would split and shows the namespace', () => {
  assert.equal(commandLine({ file: 'nft', args: ['-j', 'list', 'table', 'ip', 'svcplane'], netns: 'n1' }), 'ip netns exec n1 nft -j list table ip svcplane');
  assert.equal(commandLine({ file: 'iptables', args: ['--comment', 'a b'] }), 'iptables --comment "a b"');
});

test('the fake records commands and stdin, answers by prefix, and refuses what it was not told', async () => {
  const fake = new FakeExec().on('nft', ['-j', '-f', '-']).on('nft', ['-j', 'list'], { exitCode: 1, stderr: 'No such file or directory' });
  await fake.run({ file: 'nft', args: ['-j', '-f', '-'], input: '{"nftables":[]}' });
  assert.equal((await fake.run({ file: 'nft', args: ['-j', 'list', 'table', 'ip', 't'] })).exitCode, 1);
  assert.deepEqual(fake.inputsTo('nft'), ['{"nftables":[]}']);
  assert.deepEqual(fake.lines(), ['nft -j -f -', 'nft -j list table ip t']);
  await assert.rejects(fake.run({ file: 'ipvsadm', args: ['-Sn'] }), /no answer registered for ipvsadm -Sn/);
});

test('input in pieces reaches the tool whole, each piece pulled as it is written; a piece that throws fails the run before the tool starts', async () => {
  const pulled: string[] = [];
  function* pieces() {
    for (const p of ['table ', 'ip ', 'x\n']) {
      pulled.push(p);
      yield p;
    }
  }
  const r = await systemExec.run({ file: 'cat', args: ['/dev/stdin'], inputChunks: pieces() });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, 'table ip x');
  assert.deepEqual(pulled, ['table ', 'ip ', 'x\n']);
  function* broken() {
    yield 'table ';
    throw new Error('render failed half-way');
  }
  await assert.rejects(systemExec.run({ file: 'cat', args: ['/dev/stdin'], inputChunks: broken() }), /render failed half-way/);
  const fake = new FakeExec().on('nft', []);
  await fake.run({ file: 'nft', args: ['-j', '-f', '-'], inputChunks: pieces() });
  assert.deepEqual(fake.inputsTo('nft'), ['table ip x\n'], 'the fake records the pieces as one text');
});

test('stdoutLines: stdout handed over a line at a time as the tool prints it, not collected', async () => {
  // 200k lines (~3 MB, many pipe chunks), a two-byte character on every line so that some
  // fall across chunk boundaries, and a last line without its newline.
  const script = 'let s = ""; for (let i = 0; i < 200000; i++) s += `-A SVP-X ${i} é\\n`; process.stdout.write(s + "tail");';
  const lines: string[] = [];
  const r = await systemExec.run({ file: process.execPath, args: ['-e', script], stdoutLines: (l) => lines.push(l) });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(lines.length, 200001);
  assert.equal(lines[123456], '-A SVP-X 123456 é');
  assert.ok(lines.slice(0, -1).every((l, i) => l === `-A SVP-X ${i} é`));
  assert.equal(lines.at(-1), 'tail');
});

test('stdoutLines of a tool that cannot start: exit 1, no line, no hang', async () => {
  const lines: string[] = [];
  const r = await systemExec.run({ file: '/nonexistent/tool', args: [], stdoutLines: (l) => lines.push(l) });
  assert.equal(r.exitCode, 1);
  assert.deepEqual(lines, []);
});

test('the fake hands a scripted stdout to stdoutLines line by line', async () => {
  const fake = new FakeExec().on('iptables-save', [], { stdout: '*nat\n:SVP-A - [0:0]\nCOMMIT\n' });
  const lines: string[] = [];
  const r = await fake.run({ file: 'iptables-save', args: ['-t', 'nat'], stdoutLines: (l) => lines.push(l) });
  assert.equal(r.stdout, '');
  assert.deepEqual(lines, ['*nat', ':SVP-A - [0:0]', 'COMMIT']);
});

test('stdoutChunks: one long line handed over in pieces as the tool prints it, not collected', async () => {
  // ~3 MB without a newline (nft's JSON listing), a two-byte character every 16 so some fall across pieces.
  const script = 'process.stdout.write("0123456789abcdé,".repeat(200000));';
  const chunks: string[] = [];
  const r = await systemExec.run({ file: process.execPath, args: ['-e', script], stdoutChunks: (c) => chunks.push(c) });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(chunks.length > 1, `in pieces: ${chunks.length}`);
  assert.equal(chunks.join(''), '0123456789abcdé,'.repeat(200000));
});

test('the fake hands a scripted stdout to stdoutChunks in small pieces', async () => {
  const text = `{"nftables": [${'{"table": {"family": "ip", "name": "t"}},'.repeat(9)}{}]}`;
  const fake = new FakeExec().on('nft', [], { stdout: text });
  const chunks: string[] = [];
  const r = await fake.run({ file: 'nft', args: ['-j', 'list', 'table', 'ip', 't'], stdoutChunks: (c) => chunks.push(c) });
  assert.equal(r.stdout, '');
  assert.ok(chunks.length > 1);
  assert.equal(chunks.join(''), text);
});
