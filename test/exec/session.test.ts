import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecError } from '../../src/exec/exec.js';
import { fakeSpawn, type FakeVerdict } from '../../src/exec/fake-session.js';
import { NftSession } from '../../src/exec/session.js';

const doc = (n: number) => `{"nftables": [\n{"metainfo":{"json_schema_version":1}},\n{"add":{"element":{"family":"ip","table":"t","name":"s","elem":["10.0.0.${n}"]}}}\n]}\n`;
const refuseIf = (needle: string, verdict: FakeVerdict) => (line: string): FakeVerdict => (line.includes(needle) ? verdict : { accept: true });

/** A one-shot loader that records what it was given. */
function recordingOneShot() {
  const sent: string[] = [];
  return Object.assign(async (d: string) => void sent.push(d), { sent });
}

test('a transaction goes as one line followed by a marker, and an empty answer is success', async () => {
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn, netns: 'n1' });
  assert.deepEqual(await s.run(doc(1)), { kind: 'ok' });
  assert.deepEqual(await s.run(doc(2)), { kind: 'ok' });
  assert.equal(spawn.processes.length, 1, 'one process for both');
  const p = spawn.processes[0]!;
  assert.deepEqual(p.command, { file: 'nft', args: ['-j', '-i'], netns: 'n1' });
  assert.equal(p.accepted.length, 2);
  assert.deepEqual(JSON.parse(p.accepted[0]!), JSON.parse(doc(1)), 'the document, newlines removed, unchanged');
  assert.equal(p.lines.length, 4);
  assert.match(p.lines[1]!, /^svcplane-session-[0-9a-f]+-1$/);
  assert.notEqual(p.lines[1], p.lines[3], 'every marker is new');
});

test('a refused transaction is a failure carrying nft\'s error, and the next one is judged on its own', async () => {
  const spawn = fakeSpawn(refuseIf('10.0.0.2', { refuse: 'internal:0:0-0: Error: No such file or directory' }), 3);
  const s = new NftSession({ spawn });
  assert.deepEqual(await s.run(doc(1)), { kind: 'ok' });
  assert.deepEqual(await s.run(doc(2)), { kind: 'failed', stderr: 'internal:0:0-0: Error: No such file or directory' });
  assert.deepEqual(await s.run(doc(3)), { kind: 'ok' }, 'the refusal does not leak into the next answer');
  assert.equal(spawn.processes.length, 1, 'a refusal keeps the process');
  assert.deepEqual(s.stats, { answered: 3, refused: 1, lost: 0, tooBig: 0, disagreed: 0, started: 1 });
});

test('load: a refusal is judged again one-shot, and one-shot\'s error is the one thrown', async () => {
  const refusing = Object.assign(
    async (d: string) => {
      refusing.sent.push(d);
      throw new ExecError({ file: 'nft', args: ['-j', '-f', '-'] }, { exitCode: 1, stdout: '', stderr: 'Error: Could not process rule: No such file or directory' });
    },
    { sent: [] as string[] },
  );
  const s = new NftSession({ spawn: fakeSpawn(refuseIf('10.0.0.1', { refuse: 'Error: Could not process rule: No such file or directory' })) });
  await assert.rejects(s.load(doc(1), refusing), (e: unknown) => {
    assert.ok(e instanceof ExecError);
    assert.equal(e.command, 'nft -j -f -');
    assert.match(e.message, /Could not process rule: No such file or directory/);
    return true;
  });
  assert.deepEqual(refusing.sent, [doc(1)]);
  assert.equal(await s.load(doc(2), recordingOneShot()), 'session', 'a refusal both agree on keeps the session');
});

test('load: a refusal one-shot accepts closes the session for good (an nft -i that cannot be trusted)', async () => {
  const oneShot = recordingOneShot();
  const lost: string[] = [];
  const spawn = fakeSpawn(() => ({ refuse: 'Error: syntax error, unexpected string' }));
  const s = new NftSession({ spawn, onLost: (why) => lost.push(why) });
  assert.equal(await s.load(doc(1), oneShot), 'one-shot');
  assert.equal(await s.load(doc(2), oneShot), 'one-shot');
  assert.deepEqual(oneShot.sent, [doc(1), doc(2)]);
  assert.equal(spawn.processes.length, 1);
  assert.equal(spawn.processes[0]!.killed, true);
  assert.equal(s.stats.disagreed, 1);
  assert.match(lost[0]!, /refused what nft -j -f accepted/);
});

test('a session that dies mid-transaction is lost: that transaction goes one-shot, the next starts a new process', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn(refuseIf('10.0.0.2', { die: true }));
  const s = new NftSession({ spawn });
  assert.equal(await s.load(doc(1), oneShot), 'session');
  assert.equal(await s.load(doc(2), oneShot), 'one-shot');
  assert.deepEqual(oneShot.sent, [doc(2)], 'the very document, sent the one-shot way');
  assert.equal(await s.load(doc(3), oneShot), 'session');
  assert.equal(spawn.processes.length, 2);
  assert.equal(spawn.processes[1]!.accepted.length, 1);
  assert.equal(s.stats.lost, 1);
});

test('a session killed from outside between transactions is replaced on the next one', async () => {
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn });
  assert.deepEqual(await s.run(doc(1)), { kind: 'ok' });
  spawn.processes[0]!.exit('killed by SIGKILL');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(await s.run(doc(2)), { kind: 'ok' });
  assert.equal(spawn.processes.length, 2);
});

test('a hung session is killed after timeoutMs and the transaction goes one-shot', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn(refuseIf('10.0.0.1', { hang: true }));
  const s = new NftSession({ spawn, timeoutMs: 200 });
  assert.equal(await s.load(doc(1), oneShot), 'one-shot');
  assert.equal(spawn.processes[0]!.killed, true);
  assert.deepEqual(oneShot.sent, [doc(1)]);
  assert.equal(await s.load(doc(2), oneShot), 'session');
  assert.equal(spawn.processes.length, 2);
});

test('an answer in an unknown shape loses the session rather than guessing', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn(refuseIf('10.0.0.1', { garble: true }));
  const s = new NftSession({ spawn });
  assert.equal(await s.load(doc(1), oneShot), 'one-shot');
  assert.equal(spawn.processes[0]!.killed, true);
  assert.equal(s.stats.lost, 1);
});

test('a transaction larger than maxBytes goes one-shot without starting a session', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn, maxBytes: 50 });
  assert.equal(await s.load(doc(1), oneShot), 'one-shot');
  assert.equal(spawn.processes.length, 0);
  assert.equal(s.stats.tooBig, 1);
});

test('the process is replaced after maxTransactions (nft -i keeps every line in memory)', async () => {
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn, maxTransactions: 2 });
  for (let i = 1; i <= 5; i++) assert.deepEqual(await s.run(doc(i)), { kind: 'ok' });
  // The third process was started as soon as the second had its two: it waits, unused.
  await s.run(doc(6));
  assert.equal(spawn.processes.length, 3);
  assert.deepEqual(spawn.processes.map((p) => [p.accepted.length, p.killed]), [[2, true], [2, true], [2, true]]);
  await new Promise((r) => setImmediate(r));
  assert.equal(spawn.processes.length, 4, 'the next one is already started');
  assert.deepEqual(spawn.processes[3]!.lines, []);
});

test('warm starts the process before the first transaction, which then uses it', async () => {
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn });
  s.warm();
  s.warm();
  await new Promise((r) => setImmediate(r));
  assert.equal(spawn.processes.length, 1, 'started once');
  assert.deepEqual(await s.run(doc(1)), { kind: 'ok' });
  assert.equal(spawn.processes.length, 1);
  assert.equal(s.stats.started, 1);
});

test('concurrent transactions are sent one at a time, each with its own answer', async () => {
  const spawn = fakeSpawn(refuseIf('10.0.0.2', { refuse: 'Error: nope' }), 1);
  const s = new NftSession({ spawn });
  const outcomes = await Promise.all([1, 2, 3].map((i) => s.run(doc(i))));
  assert.deepEqual(outcomes.map((o) => o.kind), ['ok', 'failed', 'ok']);
  assert.equal(spawn.processes.length, 1);
});

test('after close, transactions go one-shot and the process is killed', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn();
  const s = new NftSession({ spawn });
  await s.load(doc(1), oneShot);
  s.close();
  assert.equal(spawn.processes[0]!.killed, true);
  assert.equal(await s.load(doc(2), oneShot), 'one-shot');
  assert.equal(spawn.processes.length, 1);
});

test('a process that is gone before its first line is lost, not a crash', async () => {
  const oneShot = recordingOneShot();
  const spawn = fakeSpawn();
  const dead = async (command: Parameters<typeof spawn>[0]) => {
    const p = await spawn(command);
    p.exit('exited 127');
    await new Promise((r) => setImmediate(r));
    return p;
  };
  const s = new NftSession({ spawn: dead });
  assert.equal(await s.load(doc(1), oneShot), 'one-shot');
  assert.deepEqual(oneShot.sent, [doc(1)]);
  assert.equal(s.stats.lost, 1);
});
