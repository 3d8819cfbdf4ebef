// The whole KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1, kube-proxy
// v1.35) as one strict zod schema: every field with its JSON type, an unknown key
// refused with its path. kube-proxy decodes its file strictly too, so a misspelled
// `clusterCidr` stops it instead of silently meaning "no cluster CIDR".
//
// This file checks shape only (types, unknown keys, durations). What the values
// mean (CIDRs, modes, interface names) is checked by proxy-config.ts, which turns
// the parsed object into the model's ProxyConfig. Which fields svcplane acts on,
// and which it only accepts with a warning, is listed at the end.

import { z } from 'zod/v3';
import type { FieldIssue } from '../model/errors.js';
import { describe } from '../model/json-fields.js';
import { parseGoDuration } from './proxy-config-duration.js';

// Go's JSON decoder leaves a field at its zero value on null, as on absence.
const opt = <T extends z.ZodTypeAny>(t: T) => t.nullish();

// zod/v3 (the agent loads it: README "Session 15"): integers are numbers with .int(); the
// error map below names them "integer" from the `int` check they carry.
const int = () => z.number().int();
const int32 = int().min(-(2 ** 31)).max(2 ** 31 - 1);
const str = opt(z.string());
const bool = opt(z.boolean());
const strList = opt(z.array(z.string()));

const MAX_GO_DURATION_SECONDS = 9_223_372_036;

/** A metav1.Duration: a Go duration string ("30s", "1h30m"), read as seconds. Never negative. */
const duration = opt(
  z.string().transform((s, ctx) => {
    const secs = parseGoDuration(s);
    if (secs === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as "30s", "1m" or "1h30m", not ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    if (secs < 0) {
      ctx.addIssue({ code: 'custom', message: 'must not be negative' });
      return z.NEVER;
    }
    // Go keeps a duration in int64 nanoseconds and refuses more when parsing.
    if (secs > MAX_GO_DURATION_SECONDS) {
      ctx.addIssue({ code: 'custom', message: `must be at most 2562047h (Go's largest duration), not ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)}` });
      return z.NEVER;
    }
    return secs;
  }),
);

const IPTablesSchema = z.strictObject({
  masqueradeBit: opt(int32),
  masqueradeAll: bool,
  localhostNodePorts: bool,
  /** Newer than v1.35 (upstream master); accepted so a newer file is not refused. */
  snatNodeInternalIP: bool,
  syncPeriod: duration,
  minSyncPeriod: duration,
});

const IPVSSchema = z.strictObject({
  syncPeriod: duration,
  minSyncPeriod: duration,
  scheduler: str,
  excludeCIDRs: strList,
  strictARP: bool,
  tcpTimeout: duration,
  tcpFinTimeout: duration,
  udpTimeout: duration,
});

const NFTablesSchema = z.strictObject({
  masqueradeBit: opt(int32),
  masqueradeAll: bool,
  syncPeriod: duration,
  minSyncPeriod: duration,
});

const WinkernelSchema = z.strictObject({
  networkName: str,
  sourceVip: str,
  enableDSR: bool,
  rootHnsEndpointName: str,
  forwardHealthCheckVip: bool,
});

const DetectLocalSchema = z.strictObject({
  bridgeInterface: str,
  interfaceNamePrefix: str,
});

const ConntrackSchema = z.strictObject({
  maxPerCore: opt(int32),
  min: opt(int32),
  tcpEstablishedTimeout: duration,
  tcpCloseWaitTimeout: duration,
  tcpBeLiberal: bool,
  udpTimeout: duration,
  udpStreamTimeout: duration,
});

/** component-base ClientConnectionConfiguration. */
const ClientConnectionSchema = z.strictObject({
  kubeconfig: str,
  acceptContentTypes: str,
  contentType: str,
  /** finite(): zod 3 takes Infinity (1e999 in a file) for a number; zod 4 did not. */
  qps: opt(z.number().finite()),
  burst: opt(int32),
});

/** component-base logs/api/v1 LoggingConfiguration. */
const OutputRoutingSchema = z.strictObject({
  splitStream: bool,
  /** A resource.Quantity: "64Ki" or a number. */
  infoBufferSize: opt(z.union([z.string(), z.number().finite()])),
});
const LoggingSchema = z.strictObject({
  format: str,
  /** A duration string or an integer of nanoseconds. */
  flushFrequency: opt(z.union([z.string(), int()])),
  verbosity: opt(int().min(0)),
  vmodule: opt(z.array(z.strictObject({ filePattern: str, verbosity: opt(int().min(0)) }))),
  options: opt(z.strictObject({ text: opt(OutputRoutingSchema), json: opt(OutputRoutingSchema) })),
});

export const KubeProxyConfigurationSchema = z.strictObject({
  apiVersion: str,
  kind: str,
  featureGates: opt(z.record(z.string(), z.boolean())),
  clientConnection: opt(ClientConnectionSchema),
  logging: opt(LoggingSchema),
  hostnameOverride: str,
  bindAddress: str,
  healthzBindAddress: str,
  metricsBindAddress: str,
  bindAddressHardFail: bool,
  enableProfiling: bool,
  showHiddenMetricsForVersion: str,
  mode: str,
  iptables: opt(IPTablesSchema),
  ipvs: opt(IPVSSchema),
  nftables: opt(NFTablesSchema),
  winkernel: opt(WinkernelSchema),
  detectLocalMode: str,
  detectLocal: opt(DetectLocalSchema),
  clusterCIDR: str,
  nodePortAddresses: strList,
  oomScoreAdj: opt(int32),
  conntrack: opt(ConntrackSchema),
  configSyncPeriod: duration,
  portRange: str,
  windowsRunAsService: bool,
});

/** The file as written (durations as strings). */
export type KubeProxyConfigurationInput = z.input<typeof KubeProxyConfigurationSchema>;
/** The file as parsed (durations in seconds). */
export type KubeProxyConfigurationParsed = z.output<typeof KubeProxyConfigurationSchema>;

const EXPECTED: Record<string, string> = {
  string: 'must be a string',
  boolean: 'must be true or false',
  integer: 'must be an integer',
  number: 'must be a number',
  object: 'must be an object',
  record: 'must be an object',
  array: 'must be a list',
};

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out = typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p);
  return out;
}

/** The name a case-insensitive match suggests, for "did you mean". */
function suggestion(key: string, known: readonly string[]): string {
  const hit = known.find((k) => k.toLowerCase() === key.toLowerCase());
  return hit ? ` (did you mean "${hit}"?)` : '';
}

/** The schema at `path` (optional, nullable and transforms unwrapped), or undefined. */
function schemaAt(path: readonly PropertyKey[]): z.ZodTypeAny | undefined {
  const bare = (t: z.ZodTypeAny): z.ZodTypeAny => {
    for (;;) {
      if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap() as z.ZodTypeAny;
      else if (t instanceof z.ZodEffects) t = t.innerType() as z.ZodTypeAny;
      else return t;
    }
  };
  let s: z.ZodTypeAny | undefined = bare(KubeProxyConfigurationSchema);
  for (const p of path) {
    if (s instanceof z.ZodArray) s = s.element as z.ZodTypeAny;
    else if (s instanceof z.ZodRecord) s = s.valueSchema as z.ZodTypeAny;
    else if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodTypeAny>)[String(p)];
    else return undefined;
    if (!s) return undefined;
    s = bare(s);
  }
  return s;
}

/** The keys the schema at `path` knows, for suggestions. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  const s = schemaAt(path);
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : [];
}

/**
 * Parses a KubeProxyConfiguration's shape. Issues name the field path
 * (`iptables.masqueradeBit`, `nodePortAddresses[1]`); an unknown key is one issue
 * for that key.
 */
export function parseKubeProxyConfiguration(obj: unknown): { value?: KubeProxyConfigurationParsed; issues: FieldIssue[] } {
  const r = KubeProxyConfigurationSchema.safeParse(obj, {
    errorMap: (iss, ctx) => {
      if (iss.code !== 'invalid_type') return { message: ctx.defaultError };
      // An integer schema given a non-number reports "number": the schema's int check says integer.
      const at = iss.expected === 'number' ? schemaAt(iss.path) : undefined;
      const expected = at instanceof z.ZodNumber && at.isInt ? 'integer' : iss.expected;
      return { message: `${EXPECTED[expected] ?? `must be ${expected}`}, not ${describe(ctx.data)}` };
    },
  });
  if (r.success) return { value: r.data, issues: [] };
  const issues: FieldIssue[] = [];
  for (const iss of r.error.issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = knownKeysAt(iss.path);
      for (const k of iss.keys) {
        issues.push({ field: fieldPath([...iss.path, k]), message: `unknown field${suggestion(k, known)}: not in KubeProxyConfiguration v1alpha1, which kube-proxy decodes strictly` });
      }
    } else {
      issues.push({ field: fieldPath(iss.path) || '(root)', message: iss.message });
    }
  }
  return { issues };
}

/**
 * Fields svcplane accepts but does not act on. Each one given (not null, not
 * Go's zero value) is one warning. The per-mode sections are all acted on: the
 * mode (or --backend) picks which one applies, as in kube-proxy.
 */
export const NOT_ACTED_ON: ReadonlyArray<{ readonly path: readonly string[]; readonly why: string; readonly unset?: readonly string[] }> = [
  { path: ['featureGates'], why: 'svcplane has no feature gates' },
  { path: ['clientConnection'], why: "the agent's API client is set by --kubeconfig or the pod's service account" },
  // logging.verbosity is acted on: the agent's log level (src/agent/log-level.ts).
  { path: ['logging', 'format'], why: 'the agent logs JSON lines on stderr' },
  { path: ['logging', 'flushFrequency'], why: 'the agent writes each log line as it happens' },
  { path: ['logging', 'vmodule'], why: 'the agent has one log level' },
  { path: ['logging', 'options'], why: 'the agent logs JSON lines on stderr' },
  { path: ['bindAddress'], why: "the node's addresses come from its Node object or --node-ip", unset: ['0.0.0.0', '::'] },
  { path: ['bindAddressHardFail'], why: 'the agent always fails when it cannot bind its ports' },
  { path: ['enableProfiling'], why: 'the agent serves no profiling handlers' },
  { path: ['showHiddenMetricsForVersion'], why: 'the agent has no hidden metrics' },
  { path: ['iptables', 'snatNodeInternalIP'], why: 'svcplane masquerades to the egress interface address' },
  { path: ['winkernel'], why: 'svcplane runs on Linux only' },
  { path: ['oomScoreAdj'], why: "set the agent's OOM score in its pod spec" },
  { path: ['configSyncPeriod'], why: "the agent's watches resync on their own schedule" },
  { path: ['portRange'], why: 'unused since the userspace proxy was removed from kube-proxy' },
  { path: ['windowsRunAsService'], why: 'svcplane runs on Linux only' },
];

// "0" is a zero Quantity (logging's infoBufferSize) and a zero duration: kubeadm writes both.
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0 || v === '0') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every(isZero);
  return false;
}

/** One warning per not-acted-on field that is set. */
export function ignoredFieldWarnings(parsed: KubeProxyConfigurationParsed): string[] {
  const out: string[] = [];
  for (const { path, why, unset } of NOT_ACTED_ON) {
    let v: unknown = parsed;
    for (const p of path) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
    if (!isZero(v) && !(typeof v === 'string' && unset?.includes(v))) out.push(`KubeProxyConfiguration: ${path.join('.')}: accepted but not acted on (${why})`);
  }
  return out;
}
