// The conntrack settings the agent makes at start, as kube-proxy makes them, against a
// fake /proc/sys: what is written, what is left alone, and refusals reported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyConntrackSysctls,
  CONNTRACK_HASHSIZE,
  CONNTRACK_MAX,
  CONNTRACK_TCP_BE_LIBERAL,
  conntrackMax,
  type SysctlIO,
} from '../../src/agent/conntrack-sysctls.js';
import { DEFAULT_CONNTRACK } from '../../src/model/config.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const EST = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established';
const CLOSE_WAIT = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait';
const UDP = '/proc/sys/net/netfilter/nf_conntrack_udp_timeout';
const UDP_STREAM = '/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream';

/** A kernel with this host's stock values; `readOnly` paths refuse writes as a netns or a container does. */
function fakeKernel(cpus: number, values: Record<string, number> = {}, readOnly: string[] = []) {
  const state: Record<string, number> = {
    [CONNTRACK_MAX]: 65536,
    [CONNTRACK_HASHSIZE]: 16384,
    [EST]: 432000,
    [CLOSE_WAIT]: 60,
    [UDP]: 30,
    [UDP_STREAM]: 120,
    [CONNTRACK_TCP_BE_LIBERAL]: 0,
    ...values,
  };
  const writes: string[] = [];
  const io: SysctlIO = {
    read: async (p) => {
      if (!(p in state)) throw new Error(`ENOENT: ${p}`);
      return state[p]!;
    },
    write: async (p, v) => {
      if (readOnly.includes(p)) throw new Error(`EACCES: permission denied, open '${p}'`);
      writes.push(`${p}=${v}`);
      state[p] = v;
    },
    cpuCount: () => cpus,
  };
  return { io, state, writes };
}

test("nf_conntrack_max is max(maxPerCore x CPUs, min), kube-proxy's getConntrackMax", TIMEOUT, () => {
  assert.equal(conntrackMax({ maxPerCore: 32768, min: 131072 }, 8), 262144);
  assert.equal(conntrackMax({ maxPerCore: 32768, min: 131072 }, 2), 131072, 'min is the floor');
  assert.equal(conntrackMax({ maxPerCore: 1000 }, 4), 4000);
  assert.equal(conntrackMax({ maxPerCore: 0, min: 131072 }, 8), 0, 'maxPerCore 0 leaves the limit alone, min too');
  assert.equal(conntrackMax({ min: 131072 }, 8), 0);
});

test("kube-proxy's defaults on a stock kernel: max and hashsize raised, timeouts set", TIMEOUT, async () => {
  const k = fakeKernel(8);
  const r = await applyConntrackSysctls(DEFAULT_CONNTRACK, k.io);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(k.writes, [`${CONNTRACK_MAX}=262144`, `${CONNTRACK_HASHSIZE}=65536`, `${EST}=86400`, `${CLOSE_WAIT}=3600`]);
  // A second start changes nothing.
  const again = await applyConntrackSysctls(DEFAULT_CONNTRACK, k.io);
  assert.deepEqual(again.written, []);
});

test('nf_conntrack_max and hashsize are only raised, never lowered', TIMEOUT, async () => {
  const k = fakeKernel(2, { [CONNTRACK_MAX]: 1_000_000, [CONNTRACK_HASHSIZE]: 262144 });
  await applyConntrackSysctls({ maxPerCore: 32768, min: 131072 }, k.io);
  assert.deepEqual(k.writes, []);
  // max already high enough but hashsize small: only hashsize.
  const h = fakeKernel(2, { [CONNTRACK_MAX]: 1_000_000, [CONNTRACK_HASHSIZE]: 1024 });
  await applyConntrackSysctls({ maxPerCore: 32768, min: 131072 }, h.io);
  assert.deepEqual(h.writes, [`${CONNTRACK_HASHSIZE}=32768`]);
});

test('timeouts are set when given and different (lowered too), tcpBeLiberal sets 1; zero or absent leaves them', TIMEOUT, async () => {
  const k = fakeKernel(4, { [UDP]: 30 });
  await applyConntrackSysctls(
    { tcpEstablishedTimeoutSeconds: 7200, tcpCloseWaitTimeoutSeconds: 60, tcpBeLiberal: true, udpTimeoutSeconds: 30, udpStreamTimeoutSeconds: 300 },
    k.io,
  );
  // close_wait and udp already hold the value: not written.
  assert.deepEqual(k.writes, [`${EST}=7200`, `${UDP_STREAM}=300`, `${CONNTRACK_TCP_BE_LIBERAL}=1`]);
  const none = fakeKernel(4);
  assert.deepEqual((await applyConntrackSysctls({}, none.io)).written, []);
  assert.deepEqual((await applyConntrackSysctls(undefined, none.io)).written, []);
  assert.deepEqual(none.writes, []);
});

test('a refused write is reported (named, logged) and the others still go in', TIMEOUT, async () => {
  const k = fakeKernel(8, {}, [CONNTRACK_MAX, CONNTRACK_HASHSIZE]);
  const logged: string[] = [];
  const log = { info: () => undefined, warn: (o: object, msg: string) => logged.push(`${msg} ${JSON.stringify(o)}`) };
  const r = await applyConntrackSysctls({ ...DEFAULT_CONNTRACK, udpTimeoutSeconds: 45 }, k.io, log);
  assert.deepEqual(r.problems.map((p) => [p.path, p.value]), [[CONNTRACK_MAX, 262144], [CONNTRACK_HASHSIZE, 65536]]);
  assert.match(r.problems[0]!.error, /EACCES/);
  assert.deepEqual(k.writes, [`${EST}=86400`, `${CLOSE_WAIT}=3600`, `${UDP}=45`]);
  assert.equal(logged.length, 2);
  assert.match(logged[0]!, /cannot set \/proc\/sys\/net\/netfilter\/nf_conntrack_max/);
});

test('an unreadable setting is still written (and reported if that fails too)', TIMEOUT, async () => {
  const k = fakeKernel(1);
  delete k.state[CONNTRACK_HASHSIZE];
  const r = await applyConntrackSysctls({ maxPerCore: 200000 }, k.io);
  assert.deepEqual(k.writes, [`${CONNTRACK_MAX}=200000`]);
  assert.deepEqual(r.problems.map((p) => p.path), [CONNTRACK_HASHSIZE]);
});
