// The userspace proxy as a Syncer: the agent process relays the traffic itself. Its
// "render" is the listener plan; an error there means nothing was opened, closed or
// sent to nft.

import { RenderFailed, type Syncer } from '../backends/syncer.js';
import { listenerPlan } from './plan.js';
import { UserspaceProxy, type UserspaceProxyOptions } from './proxy.js';

export function userspaceRulesSyncer(opts: UserspaceProxyOptions): Syncer & { readonly proxy: UserspaceProxy } {
  const proxy = new UserspaceProxy(opts);
  return {
    backend: 'userspace',
    proxy,
    async sync(input, req) {
      let plan;
      try {
        plan = listenerPlan(input);
      } catch (e) {
        throw new RenderFailed(e);
      }
      return proxy.sync(plan, req);
    },
    close: () => proxy.close(),
  };
}
