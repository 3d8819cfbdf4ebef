// The node (V8) options the agent runs with, defined once: the image (Dockerfile's
// `ENV NODE_OPTIONS`), the DaemonSet the NodeAgent construct writes (its NODE_OPTIONS
// env, so a custom image gets them too) and the agent benchmarks (bench/agent-memory.ts,
// bench/agent-scale.ts) all take them from here; test/deploy/agent-node-options.test.ts
// checks the Dockerfile and the construct agree with it.
//
// Why on the command line (NODE_OPTIONS) and not `v8.setFlagsFromString` at start
// (as heap-policy.ts does for --heap-growing-percent): V8 sizes the young generation
// when it sets the heap up, before any of our code runs; set later, the semi-space
// size changes nothing (checked: new space stayed 4 MB after a runtime set, 2 MB from
// the command line).
//
// --max-semi-space-size=1: the young generation's two semi-spaces at 1 MB each
// instead of growing to 16 MB. An idle agent (2 Services) peaked at ~84 MiB VmHWM,
// 16 MB of it new space that young objects of the start-up and the first syncs
// filled before a scavenge; with 1 MB: ~75 MiB. At 10k Services it costs more
// scavenges, no measurable time (src/agent/README.md "Memory").

/** Node options for the agent's process: one space-separated string, as NODE_OPTIONS takes it. */
export const AGENT_NODE_OPTIONS = '--max-semi-space-size=1';

/**
 * Environment the agent's process starts with, beside NODE_OPTIONS (same places: the
 * image's ENV, the DaemonSet's env, the agent benches).
 *
 * MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's workers, libuv's pool,
 * zlib's packing in the syncers) an arena of its own, up to 8 per core, and memory freed
 * in one arena is not reused by another. At 44k Services x 1 (nftables, offline) the
 * agent's VmHWM was 8-18 MiB lower with 2 arenas, at no time it could measure
 * (src/agent/README.md, 44k section, session 12). At idle it changes nothing (~1 MiB).
 */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * The agent's node options this process was started without (from neither its command
 * line nor NODE_OPTIONS), so that an agent run outside the image and the DaemonSet
 * (a systemd unit, a shell) says why it uses more memory than the figures.
 */
export function missingAgentNodeOptions(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((o) => o.replace(/_/g, '-')));
  return AGENT_NODE_OPTIONS.split(' ').filter((o) => !given.has(o));
}
