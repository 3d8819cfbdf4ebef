// Echo servers (test/e2e/fixtures/echo-server.mjs for TCP/UDP, fixtures/sctp.py for SCTP)
// inside test-bed namespaces: any host (pod, node, external) can run one. Each answers
// `<name> <client-ip> <client-port>`.

import { fileURLToPath } from 'node:url';
import { spawnInNetns, stopProcess, type NetnsProcess } from './netns.js';
import { tailStderr, waitReady } from './json-lines.js';
import { requireTools } from './preflight.js';

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/echo-server.mjs', import.meta.url));
const SCTP = fileURLToPath(new URL('../fixtures/sctp.py', import.meta.url));

/**
 * Ports every pod's server listens on unless the topology options say otherwise. SCTP is
 * opt-in (`sctp: [80]`): it costs a python3 process per pod.
 */
export const DEFAULT_SERVER_PORTS = { tcp: [80, 8080], udp: [80, 8080] } as const;

export interface ServerPorts {
  readonly tcp?: readonly number[];
  readonly udp?: readonly number[];
  /** SCTP ports (raw-socket server, fixtures/sctp.py; both families; needs python3). */
  readonly sctp?: readonly number[];
}

export interface EchoServerOptions extends ServerPorts {
  /** The name the server answers with (no spaces). */
  readonly name: string;
  /** Address families to listen on; default both. */
  readonly families?: readonly (4 | 6)[];
}

export interface EchoServer {
  readonly name: string;
  readonly ns: string;
  readonly tcp: readonly number[];
  readonly udp: readonly number[];
  readonly sctp: readonly number[];
  /** Pid of the TCP/UDP server (or of the SCTP one if it serves SCTP only). */
  readonly pid: number;
  /** Pids of all its processes (TCP/UDP server, SCTP server). */
  readonly pids: readonly number[];
  /** True until it exits. */
  running(): boolean;
  stop(): Promise<void>;
}

/** Starts an echo server in `host.ns`; resolves once every socket is bound. */
export async function startEchoServer(host: { readonly ns: string }, opts: EchoServerOptions): Promise<EchoServer> {
  const tcp = [...(opts.tcp ?? [])];
  const udp = [...(opts.udp ?? [])];
  const sctp = [...(opts.sctp ?? [])];
  if (tcp.length + udp.length + sctp.length === 0) throw new Error(`echo server ${opts.name}: no ports`);
  const what = `echo server ${opts.name} in ${host.ns}`;
  const procs: { child: NetnsProcess; pid: number }[] = [];
  const exited = new Set<NetnsProcess>();
  const start = async (argv: string[], label: string) => {
    const child = spawnInNetns(host.ns, argv);
    const entry = { child, pid: 0 };
    procs.push(entry); // before waiting, so a failed start is stopped too
    void child.then(() => exited.add(child));
    const ready = await waitReady(child, `${label} ${what}`, tailStderr(child));
    entry.pid = Number(ready.pid);
  };
  try {
    if (tcp.length + udp.length > 0) {
      const argv = [process.execPath, ECHO_SERVER, '--name', opts.name];
      if (tcp.length) argv.push('--tcp', tcp.join(','));
      if (udp.length) argv.push('--udp', udp.join(','));
      if (opts.families) argv.push('--families', opts.families.join(','));
      await start(argv, 'TCP/UDP');
    }
    if (sctp.length > 0) {
      await requireTools(['python3']);
      await start(['python3', SCTP, 'server', '--name', opts.name, '--ports', sctp.join(',')], 'SCTP');
    }
  } catch (err) {
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    throw err;
  }
  return {
    name: opts.name,
    ns: host.ns,
    tcp,
    udp,
    sctp,
    pid: procs[0]!.pid,
    pids: procs.map((p) => p.pid),
    running: () => procs.every((p) => !exited.has(p.child)),
    stop: async () => {
      await Promise.all(procs.map((p) => stopProcess(p.child)));
    },
  };
}
