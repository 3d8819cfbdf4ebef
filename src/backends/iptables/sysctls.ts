// Sysctls the iptables mode needs (see README.md in this folder). Apart from
// apply.ts so that the backend object can answer without loading its I/O half.

import type { RenderInput } from '../../model/render-input.js';
import { localhostNodePorts } from './render.js';

export function iptablesSysctls(input: RenderInput): Record<string, string> {
  return {
    'net/ipv4/ip_forward': '1',
    'net/ipv6/conf/all/forwarding': '1',
    // NodePorts on 127.0.0.1 need the kernel to route loopback-addressed packets.
    ...(localhostNodePorts(input, 'IPv4') ? { 'net/ipv4/conf/all/route_localnet': '1' } : {}),
  };
}
