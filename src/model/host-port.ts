// "IP:port" as kube-proxy's healthzBindAddress and metricsBindAddress take it:
// an IPv4 or bracketed IPv6 address, and a port 1-65535 (kube-proxy's validation).

import { canonicalIP } from './ip.js';

export interface HostPortValue {
  readonly host: string;
  readonly port: number;
}

/** "0.0.0.0:10256", "[::1]:10249" -> host and port; undefined when it is not IP:port. */
export function parseHostPortString(s: string): HostPortValue | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  // A bracketed host must be IPv6, a bare one IPv4 (net.SplitHostPort's rule).
  if (!canonicalIP(host) || (m[1] !== undefined) !== host.includes(':')) return undefined;
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}
