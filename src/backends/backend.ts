// What a backend is: one object per backend folder, implementing everything the rest
// of the program asks of a backend. Commands and the agent take the object from the
// registry (registry.ts) and call it; nothing outside the registry and the backend
// folders chooses by a backend's name.
//
// Two tiers. Every backend can run in the agent (`AgentBackend`: a syncer, cleanup,
// what the node must allow it). A ruleset backend (`Backend`) also renders a ruleset
// ahead of time, so synth precompiles it into dist/rules/, and everything that reads a
// ruleset (check, trace, diff of two dist/ trees) works on it. The userspace relay is
// an agent-only backend: its README says why it has no ruleset.
//
// Three halves, so that each process loads only what it uses: render (and the small
// members) is loaded with the object; the reader (parse, compare, the trace
// interpreter: pure, synchronous once loaded) comes from `reader()`; members that run
// tools are async and load the I/O half (and execa with it) on first use. Synth,
// `import 'svcplane'` and `svcplane render` load neither of the other two.

import type { Exec } from '../exec/exec.js';
import type { Plan } from '../model/plan.js';
import type { TrafficReader } from './traffic.js';
import type { RenderInput } from '../model/render-input.js';
import type { RulesetDifference } from './difference.js';
import type { Syncer } from './syncer.js';
import type { NodeFacts, TracePacket, TraceResult } from './trace-result.js';

export interface ApplyOptions {
  /** Print what would be sent instead of sending it. */
  readonly dryRun?: boolean;
  /**
   * namespace/name of Services whose input was skipped as malformed: whatever the
   * kernel holds for them stays exactly as it is.
   */
  readonly preserveServices?: readonly string[];
}

export interface ApplyResult {
  /** Number of objects (rules, chains, set elements...) the transaction changed; 0 when converged. */
  readonly changes: number;
  /** The transaction text sent to the kernel tool, empty when nothing was sent. */
  readonly transaction: string;
}

/** What a syncer logs through (pino's Logger fits). */
export interface SyncLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The one way to build any backend's incremental syncer. */
export interface SyncerOptions {
  /** How tools run (default: the system's; a FakeExec in unit tests). */
  readonly exec?: Exec;
  /** Drive this named network namespace instead of the current one (tests, benchmarks); host sysctls are then left alone. */
  readonly netns?: string;
  readonly log?: SyncLog;
  /** Backends that relay UDP themselves (relaysUdp): a session ends after this long without a datagram. */
  readonly udpIdleTimeoutMs?: number;
}

/** Where a live reading or a live trace looks. */
export interface LiveOptions {
  readonly exec?: Exec;
  readonly netns?: string;
}

/** The capabilities a backend cannot work without (bit numbers in src/agent/capabilities.ts). */
export type Capability = 'CAP_NET_ADMIN';

/** kube-proxy's modes, each with its own set of metrics (src/agent/metrics.ts registers them per mode). */
export type KubeProxyMetricsMode = 'iptables' | 'ipvs' | 'nftables';

/** One parsed packet tracer over a document: traces any number of packets. */
export type PacketTracer = (packet: TracePacket) => TraceResult;

/** One side of `svcplane diff`: a committed ruleset file and the plan beside it. */
export interface RulesetSide {
  /** Which tree it comes from (a folder, a git revision), for errors. */
  readonly label: string;
  readonly text: string;
  readonly plan: Plan;
}

export interface AgentBackend {
  /** The --backend name. */
  readonly name: string;
  /** Whether it renders a ruleset ahead of time (then it is a `Backend`). */
  readonly rulesFile: string | undefined;
  /** Order of `svcplane cleanup`: lower first (a backend whose hooks jump into another's chains goes before it). */
  readonly cleanupPriority: number;
  /** What the process must hold to run it (checked once at agent start). */
  readonly capabilities: readonly Capability[];
  /** The kube-proxy mode whose metrics the agent exports for it; undefined: the common set only. */
  readonly metricsMode: KubeProxyMetricsMode | undefined;
  /** It relays UDP in the agent process, so --udp-idle-timeout applies. */
  readonly relaysUdp: boolean;
  /**
   * Its Services are DNATed by rules in the kernel's nat hooks (the userspace relay's
   * redirect too), so a connection made while they were missing keeps a binding to no NAT
   * (the agent deletes those after a repair: src/agent/unnated-conntrack.ts). Not IPVS,
   * which DNATs in IPVS.
   */
  readonly dnatsInNatHooks: boolean;
  /** Kernel settings (/proc/sys paths below net/) it needs for this input. */
  sysctls(input: RenderInput): Record<string, string>;
  /** The incremental syncer the agent drives: the same options for every backend. */
  createSyncer(options: SyncerOptions): Syncer;
  /** Removes everything of this backend's from the current network namespace, and nothing else; returns how many objects went. */
  cleanup(): Promise<number>;
  /** Reads the per-Service traffic counters its rules carry (traffic.ts); absent when it has none. */
  readTraffic?: TrafficReader;
  /** readTraffic names Service ports only from the input it is given (IPVS: the kernel knows addresses alone). */
  readonly trafficNamedByInput?: boolean;
}

/** The pure half that reads a backend's rulesets. `Document`, `Live`: as in Backend. */
export interface RulesetReader<Document = unknown, Live = unknown> {
  /** A rendered ruleset (render's output, a dist/rules/ file) back into data; throws on text it cannot read. */
  parse(text: string): Document;
  /** Desired against live: every difference, named. */
  compare(desired: Document, live: Live): RulesetDifference[];
  /** Two rendered rulesets (the older in the kernel's place: "missing" is what `after` adds). */
  compareRulesets(before: RulesetSide, after: RulesetSide): RulesetDifference[];
  /** A tracer over a rendered document (each family's part parsed once). */
  documentTracer(document: string, node: NodeFacts): PacketTracer;
}

/**
 * A backend with a ruleset. `Document` is its ruleset as data (what render builds and
 * parse reads back), `Live` what it reads from the kernel.
 */
export interface Backend<Document = unknown, Live = unknown> extends AgentBackend {
  /** File name of the precompiled ruleset under dist/rules/ (never *.yaml: cdk8s reads those as manifests). */
  readonly rulesFile: string;
  /** The complete ruleset for one node, as text. Pure: same input, same bytes. */
  render(input: RenderInput): string;
  /**
   * The same text as `render`, in pieces whose concatenation it is: what `svcplane render`
   * writes, one piece after another, so the whole document (48-74 MB at 10k × 10) is never
   * copied into one string (the join was 8-17 % of a render, src/backends/nftables/README.md).
   */
  renderPieces(input: RenderInput): readonly string[];
  /** The same ruleset as data. */
  renderDocument(input: RenderInput): Document;
  serialise(document: Document): string;
  /** The reading half: parse, compare, compareRulesets, documentTracer. */
  reader(): Promise<RulesetReader<Document, Live>>;
  /** What the kernel of the namespace holds of ours. Reads only. */
  readLive(options?: LiveOptions): Promise<Live>;
  /** `svcplane check`: the current namespace against the render, as apply would compute it. Reads only. */
  check(input: RenderInput, options?: Pick<ApplyOptions, 'preserveServices'>): Promise<RulesetDifference[]>;
  /** Makes the current network namespace match the rendered ruleset (one-shot: reads everything back). */
  apply(input: RenderInput, options?: ApplyOptions): Promise<ApplyResult>;
  /** Traces a packet through what the kernel of the namespace holds now (its addresses read there too). */
  traceLive(packet: TracePacket, options?: LiveOptions): Promise<TraceResult>;
}

/** Whether an agent backend also has a ruleset. */
export function hasRuleset(b: AgentBackend): b is Backend {
  return b.rulesFile !== undefined;
}
