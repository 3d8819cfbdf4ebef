// All relays of the node, reconciled with a listener plan: new Service ports get a
// relay, changed ones are updated in place (their listeners and connections stay),
// gone ones close their listeners (established TCP connections run on, as the kernel
// keeps conntrack entries of removed Services). Services named in `preserve` (input
// skipped as malformed) keep whatever relays they have, untouched.

import type { PortPlan } from './plan.js';
import type { BoundPorts } from './redirect-rules.js';
import { ServicePortRelay, type RelayOptions } from './relay.js';

export class RelaySet {
  private readonly relays = new Map<string, ServicePortRelay>();

  constructor(private readonly opts: RelayOptions) {}

  /** Returns how many relays were opened, changed or closed. */
  async sync(plans: readonly PortPlan[], preserve: ReadonlySet<string> = new Set()): Promise<number> {
    let changes = 0;
    const wanted = new Set<string>();
    for (const plan of plans) {
      if (preserve.has(plan.service) && this.relays.has(plan.key)) {
        wanted.add(plan.key);
        continue;
      }
      wanted.add(plan.key);
      let relay = this.relays.get(plan.key);
      if (!relay) {
        relay = new ServicePortRelay(plan, this.opts);
        this.relays.set(plan.key, relay);
        changes++;
      }
      if (await relay.update(plan)) changes++;
    }
    for (const [key, relay] of [...this.relays]) {
      if (wanted.has(key) || preserve.has(relay.current.service)) continue;
      this.relays.delete(key);
      await relay.close('keep');
      changes++;
    }
    return changes;
  }

  /** The plans being served (preserved ones included), sorted by key. */
  plans(): PortPlan[] {
    return [...this.relays.values()].map((r) => r.current).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  bound(): Map<string, BoundPorts> {
    return new Map([...this.relays].map(([k, r]) => [k, r.bound()]));
  }

  relay(key: string): ServicePortRelay | undefined {
    return this.relays.get(key);
  }

  async close(): Promise<void> {
    const all = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(all.map((r) => r.close('reset')));
  }
}
