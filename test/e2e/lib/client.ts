// Real connections from a test-bed host: one long-running probe process
// (test/e2e/fixtures/probe.mjs) per client namespace, driven by JSON lines, so a test can
// open hundreds of connections without spawning a process for each. SCTP goes through a
// second probe (fixtures/sctp.py, raw sockets: the kernel here has no SCTP sockets), with
// the same protocol and results.

import { fileURLToPath } from 'node:url';
import { spawnInNetns, stopProcess, type NetnsProcess } from './netns.js';
import { onJsonLines, tailStderr, waitReady } from './json-lines.js';
import { requireTools } from './preflight.js';
import { own, type Owner } from './processes.js';

const PROBE = fileURLToPath(new URL('../fixtures/probe.mjs', import.meta.url));
const SCTP = fileURLToPath(new URL('../fixtures/sctp.py', import.meta.url));

/** 'sctp' needs python3 and an SCTP echo server (`sctp` ports) at the far end; see fixtures/sctp.py. */
export type Proto = 'tcp' | 'udp' | 'sctp';
type ProbeKind = 'node' | 'sctp';

/** Where to connect. */
export interface Target {
  readonly ip: string;
  readonly port: number;
  /** Default 'tcp'. */
  readonly proto?: Proto;
  /** How long to wait for the answer (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Bind the client socket to this local port (e.g. to test session affinity or conntrack). */
  readonly sourcePort?: number;
  /** Bind the client socket to this local address (a host with several addresses, e.g. node1). */
  readonly sourceIp?: string;
}

export type ConnectOk = {
  readonly ok: true;
  /** Name of the echo server that answered. */
  readonly server: string;
  /** Client address as the server saw it (after any SNAT/masquerade). */
  readonly seenSource: string;
  readonly seenSourcePort: number;
  readonly localPort: number | null;
  readonly ms: number;
};

export type ConnectFailed = {
  readonly ok: false;
  /** 'refused' (TCP RST, or ICMP port unreachable), 'timeout', 'unreachable' (ICMP host/net
   *  unreachable; TCP only: Linux does not report those to a UDP socket, so UDP sees 'timeout'),
   *  'reset', or another errno code / message. */
  readonly error: 'refused' | 'timeout' | 'unreachable' | 'reset' | (string & {});
  readonly localPort: number | null;
  readonly ms: number;
  /** A TCP timeout: no SYN-ACK came ('connecting'), or the connection opened and no whole answer came ('connected'). */
  readonly phase?: 'connecting' | 'connected';
};

export type ConnectResult = ConnectOk | ConnectFailed;

interface Probe {
  readonly child: NetnsProcess;
  readonly pending: Map<number, (res: ConnectResult) => void>;
  nextId: number;
  closed: boolean;
  readonly stderr: () => string;
}

/** One probe per namespace and kind, started on first use; namespaces are never reused within a run. */
const probes = new Map<string, Promise<Probe>>();

async function startProbe(ns: string, kind: ProbeKind): Promise<Probe> {
  if (kind === 'sctp') await requireTools(['python3']);
  const child = spawnInNetns(ns, kind === 'sctp' ? ['python3', SCTP, 'probe'] : [process.execPath, PROBE]);
  const stderr = tailStderr(child);
  const probe: Probe = { child, pending: new Map(), nextId: 1, closed: false, stderr };
  onJsonLines(child, (msg) => {
    if (typeof msg.id !== 'number') return;
    const resolve = probe.pending.get(msg.id);
    if (!resolve) return;
    probe.pending.delete(msg.id);
    const { id: _id, ...rest } = msg;
    resolve(rest as unknown as ConnectResult);
  });
  void child.then((res) => {
    probe.closed = true;
    probes.delete(`${kind}:${ns}`);
    const error = `probe in ${ns} exited (${res.exitCode ?? res.signal}) ${stderr()}`.trim();
    for (const resolve of probe.pending.values()) resolve({ ok: false, error, localPort: null, ms: 0 });
    probe.pending.clear();
  });
  await waitReady(child, `${kind} probe in ${ns}`, stderr).catch(async (err) => {
    await stopProcess(child);
    throw err;
  });
  return probe;
}

function getProbe(ns: string, kind: ProbeKind): Promise<Probe> {
  const key = `${kind}:${ns}`;
  let p = probes.get(key);
  if (!p) {
    p = startProbe(ns, kind);
    probes.set(key, p);
    p.catch(() => probes.delete(key));
  }
  return p;
}

/** Starts the probe of a host ahead of time (so the first connection's timing is not skewed). */
export async function warmUp(host: { readonly ns: string }, proto: Proto = 'tcp'): Promise<void> {
  await getProbe(host.ns, proto === 'sctp' ? 'sctp' : 'node');
}

/** Stops the probes of a host, if any run (deleting the namespace does this too). */
export async function stopProbe(host: { readonly ns: string }): Promise<void> {
  for (const kind of ['node', 'sctp'] as const) {
    const key = `${kind}:${host.ns}`;
    const p = probes.get(key);
    if (!p) continue;
    probes.delete(key);
    const probe = await p.catch(() => null);
    if (probe) await stopProcess(probe.child);
  }
}

/**
 * Opens one connection (TCP), exchanges one datagram (UDP), or starts one association
 * (SCTP: INIT / INIT-ACK, then ABORT) from `host` to `target`. SCTP attempts from one host
 * run one at a time.
 */
export async function connect(host: { readonly ns: string }, target: Target): Promise<ConnectResult> {
  const probe = await getProbe(host.ns, target.proto === 'sctp' ? 'sctp' : 'node');
  if (probe.closed) return { ok: false, error: `probe in ${host.ns} is gone`, localPort: null, ms: 0 };
  const id = probe.nextId++;
  const timeoutMs = target.timeoutMs ?? 2000;
  const cmd = {
    id,
    op: 'connect',
    proto: target.proto ?? 'tcp',
    ip: target.ip,
    port: target.port,
    timeoutMs,
    ...(target.sourcePort !== undefined ? { sourcePort: target.sourcePort } : {}),
    ...(target.sourceIp !== undefined ? { sourceIp: target.sourceIp } : {}),
  };
  return new Promise<ConnectResult>((resolve) => {
    // The probe enforces timeoutMs itself; this guard only catches a wedged probe.
    const guard = setTimeout(() => {
      probe.pending.delete(id);
      resolve({ ok: false, error: `probe in ${host.ns} did not answer`, localPort: null, ms: timeoutMs });
    }, timeoutMs + 5000);
    probe.pending.set(id, (res) => {
      clearTimeout(guard);
      resolve(res);
    });
    probe.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  });
}

export interface ManyResult {
  /** How many connections each server answered, by server name. */
  readonly counts: Readonly<Record<string, number>>;
  /** Every failed attempt, in order. */
  readonly failures: readonly ConnectFailed[];
  /** Every result, in order. */
  readonly results: readonly ConnectResult[];
  /** Server names seen, sorted. */
  readonly servers: readonly string[];
}

/**
 * Opens `n` new connections from `host` to `target`, `concurrency` at a time (default 1:
 * one after the other, each a new connection with a new source port).
 */
export async function connectMany(
  host: { readonly ns: string },
  target: Target,
  n: number,
  options: { readonly concurrency?: number } = {},
): Promise<ManyResult> {
  const results: ConnectResult[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await connect(host, target);
    }
  };
  const concurrency = Math.max(1, Math.min(n, options.concurrency ?? 1));
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarize(results);
}

/** Counts per server and failures of a list of results. */
export function summarize(results: readonly ConnectResult[]): ManyResult {
  const counts: Record<string, number> = {};
  const failures: ConnectFailed[] = [];
  for (const r of results) {
    if (r.ok) counts[r.server] = (counts[r.server] ?? 0) + 1;
    else failures.push(r);
  }
  return { counts, failures, results, servers: Object.keys(counts).sort() };
}

export interface TimedResult {
  /** Milliseconds since the traffic started, when this attempt began. */
  readonly at: number;
  readonly result: ConnectResult;
}

export interface TrafficRun {
  /** Stops starting new attempts, waits for the ones in flight, returns every result in start order. */
  stop(): Promise<TimedResult[]>;
  /** Results so far (attempts that finished). */
  snapshot(): TimedResult[];
}

/**
 * Starts a new connection from `host` to `target` every `intervalMs` until stopped, without
 * waiting for the previous one (a slow attempt does not leave a gap). For tests like "no
 * connection fails while an endpoint is added or removed". The run is registered with the
 * process registry (processes.ts): a test that fails before calling stop() does not leave it
 * firing (into a deleted namespace) and keeping the test file alive; `owner` stops it at
 * the end of that test.
 */
export function continuousTraffic(host: { readonly ns: string }, target: Target, intervalMs: number, options: { readonly owner?: Owner } = {}): TrafficRun {
  const started = performance.now();
  const slots: (TimedResult | undefined)[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const fire = () => {
    if (stopped) return;
    const index = slots.length;
    const at = performance.now() - started;
    slots.push(undefined);
    // connect rejects when no probe can start (the namespace is gone): a failed attempt.
    const p = connect(host, target)
      .catch((err: unknown): ConnectResult => ({ ok: false, error: String(err), localPort: null, ms: 0 }))
      .then((result) => {
        slots[index] = { at, result };
      });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    timer = setTimeout(fire, intervalMs);
  };

  const halt = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
  const release = own(
    {
      what: `continuous traffic from ${host.ns} to ${target.ip}:${target.port}`,
      stop: async () => {
        halt();
        await Promise.all([...inFlight]);
      },
      killSync: halt,
    },
    options.owner,
  );
  fire();

  return {
    async stop() {
      halt();
      release();
      await Promise.all([...inFlight]);
      return slots.filter((s): s is TimedResult => s !== undefined);
    },
    snapshot() {
      return slots.filter((s): s is TimedResult => s !== undefined);
    },
  };
}
