// The userspace proxy as the agent drives it: each sync takes a listener plan,
// reconciles the relays, then makes the redirect table match the ports they listen on.
// Without nft (missing or not permitted) it warns once and keeps serving on the node:
// node ports, and the listener ports for clients that connect to them directly. It
// tries nft again at every full sync, and says so when it works again.

import type { ListenerPlan } from './plan.js';
import { NftUnavailable, redirectRunner, type RedirectRunner } from './redirect-apply.js';
import { redirectDocument } from './redirect-rules.js';
import { RelaySet } from './relay-set.js';
import { DEFAULT_TCP_OPTIONS, type TcpRelayOptions } from './tcp-relay.js';
import { DEFAULT_UDP_OPTIONS, type UdpRelayOptions } from './udp-relay.js';

/** What the proxy logs through (pino's Logger fits). */
export interface ProxyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface UserspaceProxyOptions {
  readonly log: ProxyLog;
  /** undefined: nft in this namespace; null: never install redirect rules. */
  readonly redirect?: RedirectRunner | null;
  readonly tcp?: Partial<TcpRelayOptions>;
  readonly udp?: Partial<UdpRelayOptions>;
  readonly now?: () => number;
}

export class UserspaceProxy {
  readonly relays: RelaySet;
  private readonly log: ProxyLog;
  private readonly redirect: RedirectRunner | null;
  private lastDocument = '';
  private nftState: 'unknown' | 'ok' | 'unavailable' = 'unknown';
  private warnedUnsupported = '';

  constructor(opts: UserspaceProxyOptions) {
    this.log = opts.log;
    this.redirect = opts.redirect === undefined ? redirectRunner() : opts.redirect;
    this.relays = new RelaySet({
      tcp: { ...DEFAULT_TCP_OPTIONS, ...opts.tcp },
      udp: { ...DEFAULT_UDP_OPTIONS, ...opts.udp },
      onListen: (relay, where, port) => this.log.info({ servicePort: relay, listener: where, port }, 'listening'),
      onListenError: (relay, where, err) => this.log.warn({ servicePort: relay, listener: where, err }, 'cannot listen; retried at the next sync'),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Whether the redirect rules are installed (false before the first sync, without nft, or when disabled). */
  get redirecting(): boolean {
    return this.nftState === 'ok';
  }

  async sync(plan: ListenerPlan, req: { full: boolean; preserve: readonly string[] }): Promise<{ full: boolean; changes: number }> {
    const unsupported = plan.unsupported.join(',');
    if (unsupported && unsupported !== this.warnedUnsupported) {
      this.log.warn({ services: plan.unsupported }, 'SCTP Service ports are not relayed in userspace mode');
    }
    this.warnedUnsupported = unsupported;
    let changes = await this.relays.sync(plan.ports, new Set(req.preserve));
    if (this.redirect) changes += await this.syncRedirects(req.full);
    return { full: req.full, changes };
  }

  /** Stops every listener and connection; the redirect table stays (as the other backends' rules do). */
  async close(): Promise<void> {
    await this.relays.close();
  }

  private async syncRedirects(full: boolean): Promise<number> {
    const doc = redirectDocument(this.relays.plans(), this.relays.bound());
    if (this.nftState === 'unavailable' && !full) return 0;
    if (this.nftState === 'ok' && !full && doc === this.lastDocument) return 0;
    try {
      await this.redirect!.load(doc);
    } catch (e) {
      if (!(e instanceof NftUnavailable)) throw e;
      if (this.nftState !== 'unavailable') {
        this.log.warn({ err: e }, 'nftables not usable: no redirect rules; serving node ports and listener ports on the node only');
      }
      this.nftState = 'unavailable';
      this.lastDocument = '';
      return 0;
    }
    if (this.nftState === 'unavailable') this.log.info({}, 'nftables usable again: redirect rules installed');
    this.nftState = 'ok';
    const changed = doc !== this.lastDocument;
    this.lastDocument = doc;
    return changed ? 1 : 0;
  }
}
