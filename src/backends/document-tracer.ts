// A tracer over one rendered document: each IP family's part is parsed the first
// time a packet of that family comes, then any number of packets are traced.

import type { IPFamily } from '../model/ip.js';
import type { PacketTracer } from './backend.js';
import { familyOfPacket } from './trace-result.js';

export function perFamilyTracer(prepare: (family: IPFamily) => PacketTracer): PacketTracer {
  const parsed = new Map<IPFamily, PacketTracer>();
  return (packet) => {
    const family = familyOfPacket(packet);
    let t = parsed.get(family);
    if (!t) parsed.set(family, (t = prepare(family)));
    return t(packet);
  };
}
