// The two ends of the first-packet benchmark, run inside their namespaces by dataplane.ts:
//
//   server PORT                 accepts TCP connections and closes them; prints "ready".
//   client HOST PORT N WARMUP   opens N + WARMUP connections one after the other and
//                               prints, as one JSON line, the set-up time of the last N
//                               in microseconds: connect() called to the 'connect' event,
//                               i.e. SYN out, through the node's NAT rules, SYN-ACK back.
//
//   pair HOST PORT SRC_A SRC_B N WARMUP
//                               the same, the connections alternating between two source
//                               addresses of the client (one from each, in turn, which
//                               goes first alternating too): prints [SRC_A's, SRC_B's],
//                               paired in time, so the machine's load hits both alike.
//
//   sink PORT                   like server, but reads each connection to its end and
//                               answers with the byte count and the CPU time (ns) its own
//                               threads spent meanwhile (for bulk; resets are ignored).
//   bulk HOST PORT MB ROUNDS [SRC]
//                               sends MB megabytes over one connection ROUNDS times (from
//                               the address SRC when given); prints the throughput of each
//                               round in MB/s as one JSON line.
//   bulkpair HOST PORT MB ROUNDS SRC_A SRC_B
//                               ROUNDS pairs of such transfers, one from each address, the
//                               order alternating (A B, B A, ...) so both share the machine's
//                               load of that moment; prints [A's MB/s, B's MB/s, A's CPU µs/MB,
//                               B's CPU µs/MB] as one JSON line. CPU per transfer: this
//                               process's threads + the sink's + the ksoftirqd threads', from
//                               /proc's schedstat (ns of run time, not ticks). Without
//                               CONFIG_IRQ_TIME_ACCOUNTING the packets' softirq work (veth,
//                               forwarding, the node's rules) is charged to the task it ran
//                               in: one of these. Other processes' CPU is not counted.
//
// Each connection is reset right away (no TIME_WAIT), so thousands of them neither run
// out of ports nor wait on one another.

import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Run time (ns) of every thread of process `pid` so far (schedstat's first field). */
function runNs(pid: number | 'self'): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns;
}

/** The kernel's softirq threads (ksoftirqd/N): packets' softirq work deferred out of the sending task lands there. */
function softirqPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('ksoftirqd/');
      } catch {
        return false;
      }
    })
    .map(Number);
}

function server(port: number): void {
  createServer((s) => s.on('error', () => {}).destroy()).listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

function once(host: string, port: number, localAddress?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    s.setTimeout(5000, () => s.destroy(new Error(`connect to ${host}:${port} timed out`)));
    s.once('connect', () => {
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      s.resetAndDestroy();
      resolve(us);
    });
    s.once('error', reject);
  });
}

function sink(port: number): void {
  createServer((s) => {
    let n = 0;
    const ns0 = runNs('self');
    s.on('error', () => {});
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => s.end(`${n} ${runNs('self') - ns0}`));
  }).listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
}

interface Transfer {
  mbps: number;
  /** CPU µs per MB: this process, the sink and the softirq threads (see the head of this file). */
  cpuUsPerMB: number;
}

function bulkOnce(host: string, port: number, mb: number, localAddress?: string, softirq: readonly number[] = []): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 16, 7);
    const total = mb * (1 << 20);
    const others0 = softirq.reduce((a, p) => a + runNs(p), 0);
    const self0 = runNs('self');
    const t0 = process.hrtime.bigint();
    const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => {
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    let answer = '';
    s.setTimeout(60_000, () => s.destroy(new Error(`bulk to ${host}:${port} timed out`)));
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.once('close', () => {
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpuNs = runNs('self') - self0 + softirq.reduce((a, p) => a + runNs(p), 0) - others0;
      const [bytes, sinkNs] = answer.split(' ').map(Number);
      if (bytes !== total) return reject(new Error(`bulk: the server read ${answer} of ${total} bytes`));
      resolve({ mbps: mb / sec, cpuUsPerMB: (cpuNs + sinkNs!) / 1000 / mb });
    });
    s.once('error', reject);
  });
}

async function bulk(host: string, port: number, mb: number, rounds: number, localAddress?: string): Promise<void> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) out.push((await bulkOnce(host, port, mb, localAddress)).mbps);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function bulkPair(host: string, port: number, mb: number, rounds: number, sources: [string, string]): Promise<void> {
  const softirq = softirqPids();
  const out: [number[], number[], number[], number[]] = [[], [], [], []];
  for (let i = 0; i < rounds; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const t = await bulkOnce(host, port, mb, sources[k], softirq);
      out[k]!.push(t.mbps);
      out[k + 2]!.push(t.cpuUsPerMB);
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function client(host: string, port: number, n: number, warmup: number): Promise<void> {
  const out: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const us = await once(host, port);
    if (i >= warmup) out.push(us);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function pair(host: string, port: number, sources: [string, string], n: number, warmup: number): Promise<void> {
  const out: [number[], number[]] = [[], []];
  for (let i = 0; i < n + warmup; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const us = await once(host, port, sources[k]);
      if (i >= warmup) out[k]!.push(us);
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') server(Number(args[0]));
else if (mode === 'sink') sink(Number(args[0]));
else if (mode === 'bulk') await bulk(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), args[4]);
else if (mode === 'bulkpair') await bulkPair(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), [args[4]!, args[5]!]);
else if (mode === 'pair') await pair(args[0]!, Number(args[1]), [args[2]!, args[3]!], Number(args[4]), Number(args[5]));
else if (mode === 'client') await client(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
else throw new Error(`dataplane-peer: unknown mode ${mode}`);
