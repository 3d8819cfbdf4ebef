// Our chains as the kernel holds them, both families, through the node's iptables
// flavour: what `check` and the backend's readLive compare against. Reads only.

import type { IPFamily } from '../../model/ip.js';
import type { LiveOptions } from '../backend.js';
import { IptablesRunner } from './apply.js';
import type { LiveTables } from './check.js';

export async function readIptablesLive(options: LiveOptions = {}, run = new IptablesRunner(options.netns)): Promise<Record<IPFamily, LiveTables>> {
  const family = async (f: IPFamily): Promise<LiveTables> => ({ filter: await run.savedChains(f, 'filter'), nat: await run.savedChains(f, 'nat') });
  return { IPv4: await family('IPv4'), IPv6: await family('IPv6') };
}
