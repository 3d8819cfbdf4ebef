// `svcplane trace --backend B -f ... --src IP --dst IP:PORT [--proto P] [--json] [--live]`:
// follows a new connection through the rendered ruleset (or, with --live, the
// kernel's current rules) the way the kernel would, and prints where it goes.

import type { Command } from 'commander';
import { getBackend, RULESET_BACKEND_NAMES } from '../backends/registry.js';
import { TRACE_PROTOCOLS, type TracePacket, type TraceProtocol, type TraceResult } from '../backends/trace-result.js';
import { inputError } from '../model/errors.js';
import { canonicalIP, ipFamilyOf } from '../model/ip.js';
import { traceRendered } from '../trace/index.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';

interface TraceFlags extends InputFlags {
  backend: string;
  src?: string;
  dst?: string;
  proto: string;
  iif?: string;
  json?: boolean;
  live?: boolean;
}

const usage = (flag: string, message: string) => inputError(undefined, flag, message);

/** The packet the flags describe; usage errors name the flag. */
export function packetFromFlags(f: { src?: string; dst?: string; proto: string; iif?: string }): TracePacket {
  if (!f.src) throw usage('--src', 'required: the client address');
  if (!f.dst) throw usage('--dst', 'required: the destination as IP:PORT ([IPv6]:PORT)');
  const src = canonicalIP(f.src);
  if (!src) throw usage('--src', `${JSON.stringify(f.src)} is not an IP address`);
  const m = /^\[(.+)\]:(\d+)$/.exec(f.dst) ?? /^([^:[\]]+):(\d+)$/.exec(f.dst);
  const dst = m ? canonicalIP(m[1]!) : undefined;
  const dport = m ? Number(m[2]) : NaN;
  if (!dst || !Number.isInteger(dport) || dport < 1 || dport > 65535) throw usage('--dst', `${JSON.stringify(f.dst)} is not IP:PORT ([IPv6]:PORT, port 1-65535)`);
  if (ipFamilyOf(src) !== ipFamilyOf(dst)) throw usage('--src', `${src} and --dst ${dst} are of different IP families`);
  const proto = f.proto.toLowerCase();
  if (!TRACE_PROTOCOLS.includes(proto as TraceProtocol)) throw usage('--proto', `must be one of ${TRACE_PROTOCOLS.join(', ')}, not ${JSON.stringify(f.proto)}`);
  return { src, dst, dport, proto: proto as TraceProtocol, ...(f.iif ? { iif: f.iif } : {}) };
}

export function formatTrace(r: TraceResult): string {
  return [
    `verdict:    ${r.verdict}`,
    `endpoints:  ${r.endpoints.length ? r.endpoints.join(', ') : '-'}`,
    `masquerade: ${r.masquerade ? 'yes' : 'no'}`,
    'path:',
    ...r.path.map((s) => `  ${s}`),
  ].join('\n') + '\n';
}

export function registerTrace(program: Command): void {
  addInputFlags(
    program
      .command('trace')
      .description('follow a new connection through the ruleset (hooks, chains, maps, verdicts) and print where it goes')
      .requiredOption('--backend <name>', `the backend: ${RULESET_BACKEND_NAMES.join(' | ')}`)
      .option('--src <ip>', 'the client address (a node address: traffic from the node itself)')
      .option('--dst <ip:port>', 'the destination, IP:PORT or [IPv6]:PORT')
      .option('--proto <proto>', `${TRACE_PROTOCOLS.join(' | ')}`, 'tcp')
      .option('--iif <name>', 'the input interface (only when pod traffic is detected by interface)')
      .option('--json', 'print one JSON object: verdict, endpoints, masquerade, path')
      .option('--live', "trace through the kernel's current rules (this network namespace) instead of rendering"),
  ).action(async (flags: TraceFlags) => {
    const backend = getBackend(flags.backend);
    const packet = packetFromFlags(flags);
    let result: TraceResult;
    if (flags.live) {
      if (flags.file.length || flags.config) throw usage('--live', 'reads the kernel: give no -f/--config');
      result = await backend.traceLive(packet);
    } else {
      const loaded = await loadFromFlags(flags, FORWARDING);
      reportProblems(loaded);
      if (loaded.errors.length) process.exitCode = 2;
      result = traceRendered(flags.backend, loaded.input, packet);
    }
    process.stdout.write(flags.json ? JSON.stringify(result) + '\n' : formatTrace(result));
  });
}
