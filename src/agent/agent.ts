// The node agent: sources (plan file, API watches or endpoint files) -> scheduler ->
// render + apply through the backend's syncer -> conntrack cleanup, health-check
// ports, metrics. The decisions live in pure modules (sync-scheduler, input-merge,
// conntrack, health); this file is the I/O shell that wires them.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { readLocalAddresses } from '../backends/local-addresses.js';
import { readConntrackTCPBeLiberal } from '../backends/node-facts.js';
import { DEFAULT_PROXY_CONFIG, type ProxyConfig } from '../model/config.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { formatIssues, formatRef, isInputError, type FieldIssue, type ObjectRef } from '../model/errors.js';
import type { NodeContext } from '../model/node.js';
import { serviceKey, type Plan } from '../model/plan.js';
import { readPlanFile } from './plan-read.js';
import type { IPFamily } from '../model/ip.js';
import type { ProxyMode, RenderInput } from '../model/render-input.js';
import { conntrackPlan, runConntrack, type ConntrackDeletion, type ConntrackRunResult } from './conntrack.js';
import { deleteUnNatedEntries } from './unnated-conntrack.js';
import type { EndpointFiles, EndpointFilesLoad } from './endpoint-files.js';
import { FileWatch } from './file-watch.js';
import { applyHeapPolicy, heapPolicyFromEnv, type HeapPolicy } from './heap-policy.js';
import { MANY_SERVICES, releaseOptimizer } from './jit-policy.js';
import { healthCheckServices, healthzStatus, livezStatus, type HealthzStatus, type LivezStatus } from './health.js';
import { closeServer, HealthCheckServers, healthHandler, metricsHandler, startServer, type HealthSources, type HostPort } from './http.js';
import { buildRenderInput, changedKeys } from './input-merge.js';
import { configzBody } from './configz.js';
import { planIdentity, planLogFields, type PlanIdentity } from './plan-info.js';
import { deletionFamily, noLocalEndpoints, servedFamilies } from './metric-values.js';
import { createAgentMetrics, setPerFamily, type AgentMetrics } from './metrics.js';
import { getAgentBackend } from '../backends/registry.js';
import { RenderFailed, type Syncer, type UnsetSysctl } from '../backends/syncer.js';
import type { TrafficReader } from '../backends/traffic.js';
import { registerTrafficMetrics, type TrafficMetricsLevel } from './traffic-metrics.js';
import { maxServicesPerSyncFromEnv, withHeldBack } from './sync-batches.js';
import { realClock, SyncScheduler, type Clock, type SyncOutcome, type SyncRequest } from './sync-scheduler.js';
import type { TriggerTime } from './watch/endpointslices.js';
import type { KubeClient } from './watch/kube-client.js';
// The API watches (agent in API mode) and the endpoint files (offline mode) load in
// start(), when the mode that uses them starts: each process loads one of the two.
import type { EndpointSliceStore, NodeStore, ServiceCIDRStore, ServiceStore, WatchedResource, WatchTiming } from './watch/index.js';

export interface AgentOptions {
  readonly backend: string;
  readonly mode: ProxyMode;
  readonly nodeName: string;
  /** Addresses that replace the Node's (offline mode has no Node object otherwise). */
  readonly nodeIPs?: readonly string[];
  readonly planFile?: string;
  readonly config?: ProxyConfig;
  /** API mode. */
  readonly kubeConfig?: KubeClient;
  /** Offline mode: files or folders of EndpointSlice (and Node) manifests. */
  readonly endpointsFiles?: readonly string[];
  readonly healthAddr?: HostPort;
  readonly metricsAddr?: HostPort;
  readonly log: Logger;
  /** -v 2 and above: the sync line also names the Services it changed (agent/log-level.ts). */
  readonly logDetail?: boolean;
  /** Injection points for tests. */
  readonly rules?: Syncer;
  readonly clock?: Clock;
  readonly localAddresses?: () => Promise<string[]>;
  readonly conntrack?: (d: readonly ConntrackDeletion[]) => Promise<ConntrackRunResult[]>;
  /** Deletes conntrack entries to ClusterIPs that were never DNATed (unnated-conntrack.ts). */
  readonly unNatedConntrack?: (input: RenderInput, families: readonly IPFamily[]) => Promise<ConntrackRunResult[]>;
  readonly filePollMs?: number;
  readonly metrics?: AgentMetrics;
  /** API mode: list/watch timings (backoff, watchdog, server-side timeout); tests shorten them. */
  readonly watchTiming?: Partial<WatchTiming>;
  /** API mode: a watch not heard from for this long makes /healthz 503 (default WATCH_STALE_MS). */
  readonly watchStaleMs?: number;
  /** Userspace backend: idle time after which a UDP session ends. */
  readonly udpIdleTimeoutMs?: number;
  /** Reads the rules' traffic counters for svcplane_service_* (default: the backend's reader, unless `rules` is injected); false: none. */
  readonly traffic?: TrafficReader | false;
  /** What of the counters /metrics exports (traffic-metrics.ts); default 'endpoints'. */
  readonly trafficMetrics?: TrafficMetricsLevel;
  /** How V8's heap grows (heap-policy.ts), set for the whole process at start; default from SVCPLANE_AGENT_HEAP, 'memory'. */
  readonly heapPolicy?: HeapPolicy;
  /** At most this many Services in an incremental sync, the rest in the next ones (sync-batches.ts); default from SVCPLANE_AGENT_SYNC_BATCH, 100. */
  readonly maxServicesPerSync?: number;
}

interface FileEndpoints {
  readonly slices: EndpointSliceInfo[];
  readonly skipped: string[];
  readonly node: NodeContext | undefined;
}

/**
 * A live watch hears from the API server at least every ~40 s (an event, a bookmark,
 * or the server ending the watch at its timeoutSeconds, 30-40 s; see list-watch.ts).
 * 90 s is two of those missed: the API server is gone or the connection is dead, and
 * the watchdog (45 s) has already tried again at least once.
 */
export const WATCH_STALE_MS = 90_000;

export class Agent {
  readonly metrics: AgentMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly config: ProxyConfig;
  private readonly rules: Syncer;
  private readonly scheduler: SyncScheduler;
  private readonly hcServers: HealthCheckServers;
  private readonly servers: Server[] = [];
  private readonly fileWatches: FileWatch[] = [];
  private plan: Plan | undefined;
  /** The plan in force as svcplane_plan_info shows it. */
  private planId: PlanIdentity | undefined;
  private files: FileEndpoints = { slices: [], skipped: [], node: undefined };
  private endpointFiles: EndpointFiles | undefined;
  private services: WatchedResource<ServiceStore> | undefined;
  private slices: WatchedResource<EndpointSliceStore> | undefined;
  private nodeWatch: WatchedResource<NodeStore> | undefined;
  private serviceCIDRs: WatchedResource<ServiceCIDRStore> | undefined;
  private triggers: TriggerTime[] = [];
  /** The families the node served at the last sync (the ip_family labels). */
  private families: IPFamily[] = [];
  /** Clock ms of the last queued sync (kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds). */
  private lastQueuedAt: number | undefined;
  /** Services with EndpointSlice (resp. Service) changes not synced yet: the *_changes_pending gauges. */
  private readonly pendingEndpointServices = new Set<string>();
  private readonly pendingServiceServices = new Set<string>();
  /** Wall-clock ms at start: kube-proxy observes only programming triggers after its own start. */
  private startedWall = 0;
  private lastApplied: RenderInput | undefined;
  private lastLocalAddresses = '';
  /** nf_conntrack_tcp_be_liberal as the last sync read it (it changes the iptables skeleton). */
  private lastBeLiberal: boolean | undefined;
  /** performance.now() at start: the baseline of a watch that never answered. */
  private startedPerf = 0;
  private lastSyncedAt: number | undefined;
  private unsetSysctls: readonly UnsetSysctl[] = [];
  /** Where the health and metrics servers listen (the real port when asked for port 0). */
  readonly listening: { health?: HostPort; metrics?: HostPort } = {};

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? realClock;
    this.config = opts.config ?? DEFAULT_PROXY_CONFIG;
    this.metrics = opts.metrics ?? createAgentMetrics({ processMetrics: true, backend: opts.backend });
    const level = opts.trafficMetrics ?? 'endpoints';
    const traffic = level === 'off' ? false : (opts.traffic ?? (opts.rules ? false : getAgentBackend(opts.backend).readTraffic));
    if (traffic) {
      registerTrafficMetrics(this.metrics.registry, {
        read: (endpoints) => traffic(undefined, undefined, this.lastApplied, endpoints),
        input: () => this.lastApplied,
        endpoints: level === 'endpoints',
        onError: (e) => this.log.warn({ err: e }, 'cannot read the rules\' traffic counters'),
      });
    }
    this.rules = opts.rules ?? getAgentBackend(opts.backend).createSyncer({ log: opts.log, ...(opts.udpIdleTimeoutMs ? { udpIdleTimeoutMs: opts.udpIdleTimeoutMs } : {}) });
    this.scheduler = new SyncScheduler({
      minSyncPeriodMs: this.config.minSyncPeriodSeconds * 1000,
      syncPeriodMs: this.config.syncPeriodSeconds * 1000,
      maxServicesPerSync: opts.maxServicesPerSync ?? maxServicesPerSyncFromEnv(),
      clock: this.clock,
      sync: (req) => this.syncOnce(req),
    });
    this.hcServers = new HealthCheckServers(
      () => this.livez().healthy,
      (port, err) => this.log.error({ port, err }, 'cannot serve healthCheckNodePort'),
    );
  }

  /** /livez: rules kept fresh; kube-proxy's health timeout is twice the sync period. */
  livez(): LivezStatus {
    return livezStatus(
      { lastSyncedAt: this.lastSyncedAt, queuedSince: this.scheduler.queuedSince },
      this.clock.now(),
      2 * this.config.syncPeriodSeconds * 1000,
    );
  }

  /** /healthz: /livez, plus node eligibility, the sysctls, and the API watches. */
  healthz(): HealthzStatus {
    const eligibility = this.nodeWatch?.store.eligibility() ?? { eligible: true };
    return healthzStatus(this.livez(), {
      nodeEligible: eligibility.eligible,
      nodeIneligibleReason: eligibility.reason,
      unsetSysctls: this.unsetSysctls,
      staleWatches: this.staleWatches(),
    });
  }

  private get healthSources(): HealthSources {
    return {
      livez: () => this.livez(),
      healthz: () => this.healthz(),
      answered: (path, code) => (path === '/livez' ? this.metrics.livezTotal : this.metrics.healthzTotal).inc({ code: String(code) }),
    };
  }

  /** Each API watch with when it last heard from the server (performance.now() ms; the start if never). */
  private watchContacts(): { resource: string; at: number }[] {
    const out: { resource: string; at: number }[] = [];
    const each: Array<[string, WatchedResource<ServiceStore | EndpointSliceStore | NodeStore> | undefined]> = [
      ['services', this.services],
      ['endpointslices', this.slices],
      ['nodes', this.nodeWatch],
    ];
    for (const [resource, w] of each) if (w) out.push({ resource, at: w.listWatch.lastContactAt ?? this.startedPerf });
    // ServiceCIDRs are optional (a cluster may not serve them: the plan's ranges hold), so
    // they count only once the server has answered for them.
    const cidrContact = this.serviceCIDRs?.listWatch.lastContactAt;
    if (cidrContact !== undefined) out.push({ resource: 'servicecidrs', at: cidrContact });
    return out;
  }

  private staleWatches(): { resource: string; silentSeconds: number }[] {
    const bound = this.opts.watchStaleMs ?? WATCH_STALE_MS;
    const now = performance.now();
    return this.watchContacts()
      .filter((c) => now - c.at > bound)
      .map((c) => ({ resource: c.resource, silentSeconds: Math.round((now - c.at) / 1000) }));
  }

  /** The watch gauges, as wall-clock seconds, refreshed per scrape. */
  private refreshWatchGauges(): void {
    const now = performance.now();
    for (const c of this.watchContacts()) this.metrics.watchLastEvent.set({ resource: c.resource }, (Date.now() - (now - c.at)) / 1000);
  }

  /** A full sync checked the sysctls: log and count what changed. */
  private noteSysctls(unset: readonly UnsetSysctl[]): void {
    const before = new Set(this.unsetSysctls.map((u) => u.name));
    const now = new Set(unset.map((u) => u.name));
    for (const u of unset) {
      if (!before.has(u.name)) this.log.warn({ sysctl: u.name, err: { type: 'SysctlUnset', message: u.error } }, `sysctl ${u.name} is needed by the ${this.opts.backend} backend and could not be set`);
      this.metrics.sysctlUnset.set({ name: u.name }, 1);
    }
    for (const name of before) {
      if (now.has(name)) continue;
      this.log.info({ sysctl: name }, `sysctl ${name} is set now`);
      this.metrics.sysctlUnset.set({ name }, 0);
    }
    this.unsetSysctls = unset;
  }

  async start(): Promise<void> {
    applyHeapPolicy(this.opts.heapPolicy ?? heapPolicyFromEnv());
    this.startedPerf = performance.now();
    this.startedWall = Date.now();
    const { opts } = this;
    if (opts.planFile) {
      this.plan = await this.readPlan(opts.planFile);
      const w = new FileWatch([opts.planFile], () => void this.reloadPlan(), opts.filePollMs);
      await w.start();
      this.fileWatches.push(w);
    }
    if (opts.endpointsFiles?.length) {
      const { EndpointFiles } = await import('./endpoint-files.js');
      this.endpointFiles = new EndpointFiles(opts.endpointsFiles, {
        nodeName: opts.nodeName,
        ...(opts.nodeIPs?.length ? { nodeIPs: opts.nodeIPs } : {}),
      });
      await this.readEndpointFiles();
      // Self-polled: the endpoint files' cache compares every file with what it read, no fingerprint beside it.
      const w = new FileWatch(opts.endpointsFiles, () => this.reloadEndpointFiles(), opts.filePollMs, (paths) => void this.reloadEndpointFiles(paths), true);
      await w.start();
      this.fileWatches.push(w);
    }
    if (opts.healthAddr) {
      const server = await startServer(opts.healthAddr, healthHandler(this.healthSources));
      this.servers.push(server);
      this.listening.health = boundTo(server);
    }
    if (opts.metricsAddr) {
      const info = { proxyMode: opts.backend, configz: () => this.configz() };
      const server = await startServer(opts.metricsAddr, metricsHandler(this.metrics.registry, this.healthSources, () => this.refreshWatchGauges(), info));
      this.servers.push(server);
      this.listening.metrics = boundTo(server);
    }
    this.log.info({ file: opts.planFile ?? false, ...planLogFields(this.notePlan()) }, 'plan in force');
    if (opts.kubeConfig) await this.startWatches(opts.kubeConfig);
    this.log.info(
      { backend: opts.backend, mode: opts.mode, node: opts.nodeName, api: opts.kubeConfig?.server ?? false, plan: opts.planFile, endpointsFiles: opts.endpointsFiles },
      'agent started; first sync (full)',
    );
    this.scheduler.start();
  }

  /** Stops watching, syncing and serving; the rules stay as they are. */
  async stop(): Promise<void> {
    for (const w of this.fileWatches) w.stop();
    await this.scheduler.stop();
    await Promise.all([this.services?.stop(), this.slices?.stop(), this.nodeWatch?.stop(), this.serviceCIDRs?.stop()]);
    await this.hcServers.close();
    await Promise.all(this.servers.map(closeServer));
    await this.rules.close?.();
    this.log.info({}, 'agent stopped; rules left in place');
  }

  private async startWatches(kubeConfig: KubeClient): Promise<void> {
    const { watchEndpointSlices, watchNode, watchServiceCIDRs, watchServices } = await import('./watch/index.js');
    const common = {
      kubeConfig,
      log: this.log,
      onMalformed: (m: { ref: { kind: string } }) => this.metrics.malformedObjects.inc({ kind: m.ref.kind }),
      onIgnored: (ref: ObjectRef, issues: readonly FieldIssue[]) => {
        this.metrics.ignoredFields.inc({ kind: ref.kind }, issues.length);
        this.log.warn({ kind: ref.kind, namespace: ref.namespace, name: ref.name, issues }, `${formatRef(ref)}: ignored (does not apply): ${formatIssues(issues)}`);
      },
      ...(this.opts.watchTiming ? { timing: this.opts.watchTiming } : {}),
    };
    this.services = watchServices({ ...common, mode: this.opts.mode }).start();
    // Not waited for: a cluster that does not serve ServiceCIDRs keeps the plan's ranges.
    this.serviceCIDRs = watchServiceCIDRs(common).start();
    this.serviceCIDRs.store.on('change', () => this.queue([]));
    this.slices = watchEndpointSlices(common).start();
    this.nodeWatch = watchNode({ ...common, nodeName: this.opts.nodeName }).start();
    this.services.store.on('change', (keys, objects) => {
      this.noteServiceChanges(keys, objects);
      this.queue(keys);
    });
    this.slices.store.on('change', (keys, objects) => {
      this.noteEndpointChanges(keys, objects);
      this.queue(keys);
    });
    this.nodeWatch.store.on('change', () => this.queue([]));
    this.log.info({}, 'waiting for the API server (Services, EndpointSlices, Node)');
    // Until every list came back, syncing would remove rules of what is not listed yet.
    await Promise.all([this.services.store.waitForSync(), this.slices.store.waitForSync(), this.nodeWatch.store.waitForSync()]);
  }

  private queue(keys: Iterable<string>): void {
    this.lastQueuedAt = this.clock.now();
    setPerFamily(this.metrics.lastQueuedTimestamp, this.families, this.lastQueuedAt / 1000);
    this.scheduler.notify(keys);
  }

  /** `objects` EndpointSlices changed, for the Services `keys` (kube-proxy counts slices; pending counts Services). */
  private noteEndpointChanges(keys: Iterable<string>, objects: number): void {
    this.metrics.endpointChanges.inc(objects);
    for (const k of keys) this.pendingEndpointServices.add(k);
    this.metrics.endpointChangesPending.set(this.pendingEndpointServices.size);
  }

  private noteServiceChanges(keys: Iterable<string>, objects: number): void {
    this.metrics.serviceChanges.inc(objects);
    for (const k of keys) this.pendingServiceServices.add(k);
    this.metrics.serviceChangesPending.set(this.pendingServiceServices.size);
  }

  /** /configz: the KubeProxyConfiguration in effect, and (beside it, under svcplane.io) the plan in force. */
  private configz(): unknown {
    return {
      ...configzBody({
        mode: this.opts.backend,
        config: this.config,
        ...(this.listening.health ? { healthzBindAddress: this.listening.health } : {}),
        ...(this.listening.metrics ? { metricsBindAddress: this.listening.metrics } : {}),
      }),
      'svcplane.io': { plan: { ...this.planId, file: this.opts.planFile ?? '' } },
    };
  }

  /** Sets svcplane_plan_info to the plan now in force: one series, the previous one removed when it changed. */
  private notePlan(): PlanIdentity {
    const id = planIdentity(this.plan, { backend: this.opts.backend, mode: this.opts.mode, configz: configzBody({ mode: this.opts.backend, config: this.config }) });
    if (this.planId?.digest !== id.digest || this.planId.revision !== id.revision) {
      this.metrics.planInfo.reset();
      this.metrics.planInfo.set({ digest: id.digest, revision: id.revision, source: id.source }, 1);
      this.planId = id;
    }
    return id;
  }

  private async readPlan(file: string): Promise<Plan> {
    // Validated a piece at a time, each compacted (shared empties and repeats) as it comes: plan-read.ts.
    return readPlanFile(file);
  }

  private async reloadPlan(): Promise<void> {
    try {
      const next = await this.readPlan(this.opts.planFile!);
      const before = this.plan;
      this.plan = next;
      const planFields = planLogFields(this.notePlan());
      if (!before || JSON.stringify([before.serviceCIDRs, before.nodePortRange]) !== JSON.stringify([next.serviceCIDRs, next.nodePortRange])) {
        this.log.info(planFields, 'plan reloaded (service CIDRs or node port range changed): full sync');
        this.queue([]);
        return;
      }
      const keys = changedKeys(before.services, next.services, serviceKey);
      this.log.info({ services: keys.size, ...planFields }, 'plan reloaded');
      // The plan's unit is the Service: one changed Service is one Service change.
      this.noteServiceChanges(keys, keys.size);
      if (keys.size) this.queue(keys);
    } catch (e) {
      // A half-written or broken plan: keep the one we have, rules stay.
      this.log.error({ file: this.opts.planFile, err: e, ...(this.planId ? planLogFields(this.planId) : {}) }, 'plan not reloaded; keeping the previous one');
      this.metrics.malformedObjects.inc({ kind: 'ServicePlan' });
    }
  }

  /** Reads the endpoint files that changed (all of them the first time) and logs what was skipped. */
  private async readEndpointFiles(changed?: readonly string[]): Promise<EndpointFilesLoad> {
    const loaded = await (changed ? this.endpointFiles!.loadChanged(changed) : this.endpointFiles!.load());
    for (const e of loaded.errors) {
      this.log.warn({ object: e.ref, source: e.source, err: e }, 'malformed object skipped');
      this.metrics.malformedObjects.inc({ kind: e.ref?.kind ?? 'unknown' });
    }
    this.files = { slices: loaded.slices, skipped: loaded.skipped, node: loaded.node };
    return loaded;
  }

  /** `paths`: the files a folder watch named (only those are looked at); without, every file. */
  private async reloadEndpointFiles(paths?: readonly string[]): Promise<void> {
    try {
      const { changed, nodeChanged, filesRead } = await this.readEndpointFiles(paths);
      if (changed.size === 0 && !nodeChanged) return;
      // Files name the Services they touch, not the slices: offline mode counts Services.
      this.noteEndpointChanges(changed, changed.size);
      // Steady state: the sync line says what changed; this one is for debugging.
      this.log.debug({ services: changed.size, nodeChanged, filesRead }, 'endpoint files reloaded');
      if (nodeChanged) this.queue([]);
      else if (changed.size) this.queue(changed);
    } catch (e) {
      this.log.error({ err: e }, 'endpoint files not reloaded; keeping the previous endpoints');
    }
  }

  private nodeContext(): NodeContext {
    const fromApi = this.nodeWatch?.store.node();
    const base: NodeContext = fromApi ?? this.files.node ?? { name: this.opts.nodeName, addresses: [], podCIDRs: [] };
    return this.opts.nodeIPs?.length ? { ...base, addresses: [...this.opts.nodeIPs] } : base;
  }

  /** One sync: build the input, render and apply through the backend, then the follow-ups. */
  private async syncOnce(req: SyncRequest): Promise<SyncOutcome> {
    const started = this.clock.now();
    const t0 = performance.now();
    // kube-proxy: a trigger before the tracker's start is the initial list's history, not a change it programmed.
    for (const t of this.slices?.store.takeTriggerTimes() ?? []) if (t.time >= this.startedWall) this.triggers.push(t);
    // The proxier takes the pending changes when a sync starts; those of Services held for
    // the next batch stay pending.
    const taken = { services: takePending(this.pendingServiceServices, req.held), endpoints: takePending(this.pendingEndpointServices, req.held) };
    this.metrics.endpointChangesPending.set(this.pendingEndpointServices.size);
    this.metrics.serviceChangesPending.set(this.pendingServiceServices.size);
    let input: RenderInput;
    let full = req.full;
    try {
      const localAddresses = await (this.opts.localAddresses ?? readLocalAddresses)();
      const la = localAddresses.join(',');
      if (la !== this.lastLocalAddresses) {
        if (this.lastLocalAddresses !== '') this.log.info({ localAddresses }, 'local addresses changed: full sync');
        full = true;
        this.lastLocalAddresses = la;
      }
      // Read at every sync, after the agent's own conntrack sysctls: a node whose admin
      // turns it on or off converges at the next sync, as after a restart of kube-proxy.
      const conntrackTCPBeLiberal = await readConntrackTCPBeLiberal();
      if (conntrackTCPBeLiberal !== this.lastBeLiberal) {
        if (this.lastBeLiberal !== undefined) this.log.info({ conntrackTCPBeLiberal }, 'nf_conntrack_tcp_be_liberal changed: full sync');
        full = true;
        this.lastBeLiberal = conntrackTCPBeLiberal;
      }
      input = buildRenderInput({
        ...(this.plan ? { plan: this.plan } : {}),
        apiServiceCIDRs: this.serviceCIDRs?.store.cidrs(),
        apiServices: this.services?.store.snapshot(),
        fileSlices: this.files.slices,
        apiSlices: this.slices?.store.snapshot(),
        node: { ...this.nodeContext(), localAddresses, conntrackTCPBeLiberal },
        config: this.config,
        mode: this.opts.mode,
      });
      // A batch: the held Services stay as the kernel has them (a full sync sends everything).
      if (!full && this.lastApplied) input = withHeldBack(input, this.lastApplied, req.held);
    } catch (e) {
      this.metrics.syncFailures.inc({ reason: isInputError(e) ? 'render' : 'apply' });
      this.log.error({ err: e }, 'cannot build the sync input; kernel left as it is');
      return isInputError(e) ? 'render-error' : 'failed';
    }
    this.families = servedFamilies(input);
    if (this.lastQueuedAt !== undefined) setPerFamily(this.metrics.lastQueuedTimestamp, this.families, this.lastQueuedAt / 1000);
    const preserve = [...new Set([...this.files.skipped, ...(this.services?.store.skippedServiceKeys() ?? []), ...(this.slices?.store.skippedServiceKeys() ?? [])])].sort();
    // Many Services are real work for the optimising compiler (jit-policy.ts).
    if (input.plan.services.length > MANY_SERVICES && releaseOptimizer()) this.log.info({ why: `${input.plan.services.length} Services` }, 'optimising compiler on');
    let result;
    try {
      result = await this.rules.sync(input, { full, changed: req.changed, preserve });
    } catch (e) {
      if (e instanceof RenderFailed) {
        this.metrics.syncFailures.inc({ reason: 'render' });
        this.log.error({ err: e, services: [...req.changed].slice(0, 20) }, 'render failed; nothing applied, kernel left as it is');
        return 'render-error';
      }
      this.metrics.syncFailures.inc({ reason: 'apply' });
      this.noteApplyFailure(full, e);
      this.log.error({ err: e, full }, 'sync failed; will retry with a full sync');
      return 'failed';
    }
    const seconds = (performance.now() - t0) / 1000;
    const now = this.clock.now();
    this.lastSyncedAt = now;
    if (result.unsetSysctls) this.noteSysctls(result.unsetSysctls);
    const held = full || !this.lastApplied ? undefined : req.held;
    this.noteSynced(input, result.full, seconds, now, held);
    for (const r of result.iptablesRules ?? []) {
      this.metrics.iptablesRules.set({ ip_family: r.family, table: r.table }, r.owned);
      this.metrics.iptablesRulesLast.set({ ip_family: r.family, table: r.table }, r.written);
    }
    this.log.info(syncLogLine({ full: result.full, sent: result.changes, taken, changed: req.changed, held: held?.size ?? 0, seconds, waitedMs: now - started, detail: this.opts.logDetail ?? false }), 'synced');
    await this.afterSync(input, full ? undefined : req.changed, result.full && result.changes > 0);
    this.lastApplied = input;
    return 'ok';
  }

  /** A sync reached the kernel: kube-proxy's per-family sync metrics. `held`: Services it left for the next batch. */
  private noteSynced(input: RenderInput, wasFull: boolean, seconds: number, now: number, held: ReadonlySet<string> | undefined): void {
    const m = this.metrics;
    for (const ip_family of this.families) {
      m.syncDuration.observe({ ip_family }, seconds);
      (wasFull ? m.syncFullDuration : m.syncPartialDuration).observe({ ip_family }, seconds);
      m.lastSyncTimestamp.set({ ip_family }, now / 1000);
      const nle = noLocalEndpoints(input, ip_family);
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'internal' }, nle.internal);
      m.noLocalEndpoints.set({ ip_family, traffic_policy: 'external' }, nle.external);
    }
    const wallNow = Date.now();
    // A held Service's change is programmed by a later batch: its trigger waits for that one.
    const later: TriggerTime[] = [];
    for (const t of this.triggers) {
      if (held?.has(t.service)) later.push(t);
      else m.networkProgrammingDuration.observe({ ip_family: t.family }, Math.max(0, (wallNow - t.time) / 1000));
    }
    this.triggers = later;
  }

  /** The kernel tool failed: kube-proxy's per-backend failure counters, for every family the sync programs. */
  private noteApplyFailure(full: boolean, error: unknown): void {
    for (const [c, ip_family] of this.metrics.applyFailures(full, error, this.families)) c.inc({ ip_family });
  }

  /** `repaired`: a full sync changed the kernel (it lacked rules: a repair, or the first sync on a node without them). */
  private async afterSync(input: RenderInput, keys: ReadonlySet<string> | undefined, repaired: boolean): Promise<void> {
    if (this.lastApplied) {
      const t0 = performance.now();
      const deletions = conntrackPlan(this.lastApplied, input, keys);
      const planSeconds = (performance.now() - t0) / 1000;
      // kube-proxy reconciles per family: each family's time is the (shared) plan plus its own commands.
      let deleted = 0;
      const families = [...new Set([...this.families, ...deletions.map(deletionFamily)])];
      for (const ip_family of families) {
        const mine = deletions.filter((d) => deletionFamily(d) === ip_family);
        const t1 = performance.now();
        const results = mine.length ? await (this.opts.conntrack ?? runConntrack)(mine) : [];
        this.metrics.conntrackReconcileDuration.observe({ ip_family }, planSeconds + (performance.now() - t1) / 1000);
        for (const r of results) deleted += this.noteConntrack(r, ip_family);
      }
      if (deletions.length) this.log.debug({ commands: deletions.length, deleted }, 'UDP conntrack entries cleaned');
    }
    // Only the backends that DNAT in the kernel's nat hooks leave such entries behind (AgentBackend.dnatsInNatHooks).
    // With an injected syncer (tests) there is no node: only an injected cleanup runs.
    const unNated = this.opts.unNatedConntrack ?? (this.opts.rules ? undefined : deleteUnNatedEntries);
    if (repaired && unNated && getAgentBackend(this.opts.backend).dnatsInNatHooks) await this.deleteUnNated(unNated, input);
    await this.hcServers.update(healthCheckServices(input));
  }

  /** One conntrack command's outcome: kube-proxy's deleted-entries counter, or a warning; how many went. */
  private noteConntrack(r: ConntrackRunResult, ip_family: IPFamily): number {
    if (r.ok) this.metrics.conntrackDeletedEntries.inc({ ip_family }, r.deleted);
    else this.log.warn({ args: r.args, err: { type: 'ConntrackDeleteFailed', message: r.error } }, 'conntrack delete failed');
    return r.deleted;
  }

  /** After a repair: the connections made while the rules were missing must not keep their (absent) NAT. */
  private async deleteUnNated(run: NonNullable<AgentOptions['unNatedConntrack']>, input: RenderInput): Promise<void> {
    let results: ConntrackRunResult[];
    try {
      results = await run(input, this.families);
    } catch (e) {
      // A cleanup, never a reason for the sync (already in the kernel) to count as failed.
      this.log.warn({ err: e }, 'conntrack cleanup of never-DNATed entries failed');
      return;
    }
    let deleted = 0;
    for (const r of results) deleted += this.noteConntrack(r, deletionFamily(r.args));
    if (deleted) this.log.info({ deleted, addresses: results.filter((r) => r.deleted).map((r) => r.args[3]) }, 'deleted conntrack entries to ClusterIPs made while their rules were missing');
  }
}

/**
 * The one info line per sync: full or partial, how many Services changed (spec) and
 * how many had endpoint changes, how many changed Services it held for the next batch,
 * how many rules/objects went to the kernel, how long.
 * With detail (-v 2+) also which Services (the first 50).
 */
function syncLogLine(s: { full: boolean; sent: number; taken: { services: number; endpoints: number }; changed: ReadonlySet<string>; held: number; seconds: number; waitedMs: number; detail: boolean }) {
  return {
    full: s.full,
    servicesChanged: s.taken.services,
    endpointsChanged: s.taken.endpoints,
    ...(s.held ? { held: s.held } : {}),
    sent: s.sent,
    ms: Math.round(s.seconds * 1000),
    waitedMs: s.waitedMs,
    ...(s.detail ? { changed: [...s.changed].sort().slice(0, 50) } : {}),
  };
}

/** Empties `pending` but for the `held` keys; returns how many it took. */
function takePending(pending: Set<string>, held: ReadonlySet<string>): number {
  const before = pending.size;
  if (held.size === 0) pending.clear();
  else for (const k of pending) if (!held.has(k)) pending.delete(k);
  return before - pending.size;
}

function boundTo(server: Server): HostPort {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}
