// Echo servers (test/e2e/fixtures/echo-server.mjs) inside test-bed namespaces: any host
// (pod, node, external) can run one. Each answers `<name> <client-ip> <client-port>`.

import { fileURLToPath } from 'node:url';
import { spawnInNetns, stopProcess, type NetnsProcess } from './netns.js';
import { tailStderr, waitReady } from './json-lines.js';

const ECHO_SERVER = fileURLToPath(new URL('../fixtures/echo-server.mjs', import.meta.url));

/** Ports every pod's server listens on unless the topology options say otherwise. */
export const DEFAULT_SERVER_PORTS = { tcp: [80, 8080], udp: [80, 8080] } as const;

export interface ServerPorts {
  readonly tcp?: readonly number[];
  readonly udp?: readonly number[];
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
  readonly pid: number;
  /** True until it exits. */
  running(): boolean;
  stop(): Promise<void>;
}

/** Starts an echo server in `host.ns`; resolves once every socket is bound. */
export async function startEchoServer(host: { readonly ns: string }, opts: EchoServerOptions): Promise<EchoServer> {
  const tcp = [...(opts.tcp ?? [])];
  const udp = [...(opts.udp ?? [])];
  const argv = [process.execPath, ECHO_SERVER, '--name', opts.name];
  if (tcp.length) argv.push('--tcp', tcp.join(','));
  if (udp.length) argv.push('--udp', udp.join(','));
  if (opts.families) argv.push('--families', opts.families.join(','));
  const child: NetnsProcess = spawnInNetns(host.ns, argv);
  const stderr = tailStderr(child);
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  const ready = await waitReady(child, `echo server ${opts.name} in ${host.ns}`, stderr).catch(async (err) => {
    await stopProcess(child);
    throw err;
  });
  return {
    name: opts.name,
    ns: host.ns,
    tcp,
    udp,
    pid: Number(ready.pid),
    running: () => !exited,
    stop: () => stopProcess(child),
  };
}
