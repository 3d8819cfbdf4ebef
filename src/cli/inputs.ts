// The input flags shared by plan, render and apply, and turning them into a RenderInput.

import type { Command } from 'commander';
import { loadInputs } from '../manifests/load.js';
import { escapeControl, inputError, type InputError } from '../model/errors.js';
import { isIP } from '../model/ip.js';
import { PROXY_MODES, type ProxyMode, type RenderInput } from '../model/render-input.js';
import type { ValidationPurpose } from '../model/validate-service.js';

export interface InputFlags {
  readonly file: string[];
  readonly config?: string;
  readonly nodeName?: string;
  readonly nodeIp: string[];
  readonly mode: string;
  readonly allowEmpty?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function addInputFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'manifests: a file, a folder, or - for stdin; YAML or JSON; repeatable', collect, [])
    .option('--config <file>', 'a KubeProxyConfiguration (same as -f for that file)')
    .option('--node-name <name>', 'the node to render for (default: hostnameOverride, or the only Node given)')
    .option('--node-ip <ip>', "the node's IP; repeatable (overrides the Node's addresses)", collect, [])
    .option('--mode <mode>', `which Services are ours: ${PROXY_MODES.join(' | ')}`, 'coexist')
    .option('--allow-empty', 'accept input with no Service, EndpointSlice, Node, ServiceCIDR, configuration or plan (an empty ruleset); without it, nothing read is an error');
}

/** How strictly loadFromFlags reads: see CollectOptions.strict and .purpose. */
export interface LoadMode {
  /** The first bad object throws (instead of being skipped and named). */
  readonly strict: boolean;
  readonly purpose: ValidationPurpose;
}

/** render, apply, check, trace, plan: accept what a live cluster holds, skip and name what cannot be forwarded. */
export const FORWARDING: LoadMode = { strict: false, purpose: 'forwarding' };

export interface LoadedInput {
  readonly input: RenderInput;
  readonly warnings: readonly string[];
  /** Objects skipped because they are malformed (only when not strict). */
  readonly errors: readonly InputError[];
  /** namespace/name of the Services those objects belong to. */
  readonly skippedServices: readonly string[];
}

export async function loadFromFlags(flags: InputFlags & { backend?: string }, how: LoadMode): Promise<LoadedInput> {
  if (!PROXY_MODES.includes(flags.mode as ProxyMode)) {
    throw inputError(undefined, '--mode', `must be one of ${PROXY_MODES.join(', ')}, not ${JSON.stringify(flags.mode)}`);
  }
  for (const ip of flags.nodeIp) if (!isIP(ip)) throw inputError(undefined, '--node-ip', `${JSON.stringify(ip)} is not an IP address`);
  const paths = [...flags.file, ...(flags.config ? [flags.config] : [])];
  if (paths.length === 0) throw inputError(undefined, '-f', 'no input: give manifests with -f FILE|DIR|-');
  const loaded = await loadInputs(paths, {
    ...(flags.nodeName ? { nodeName: flags.nodeName } : {}),
    ...(flags.nodeIp.length ? { nodeIPs: flags.nodeIp } : {}),
    ...how,
    ...(flags.backend ? { backend: flags.backend } : {}),
  });
  // Zero objects read must not mean "remove every rule": an empty file, a folder
  // without manifests and a mistyped path look alike from here.
  if (loaded.objectCount === 0 && !flags.allowEmpty) {
    throw inputError(undefined, '-f', `no object read from ${paths.map((p) => JSON.stringify(p)).join(', ')}: nothing to render; give --allow-empty to mean an empty ruleset (svcplane cleanup removes everything)`);
  }
  return {
    input: {
      plan: loaded.plan,
      endpointSlices: loaded.endpointSlices,
      node: loaded.node,
      config: loaded.config,
      mode: flags.mode as ProxyMode,
    },
    warnings: loaded.warnings,
    errors: loaded.errors,
    skippedServices: loaded.skippedServices,
  };
}

/** Warnings and skipped objects go to stderr, one per line. */
export function reportProblems(l: LoadedInput): void {
  for (const w of l.warnings) process.stderr.write(`warning: ${escapeControl(w)}\n`);
  for (const e of l.errors) process.stderr.write(`error: ${e.message} (skipped)\n`);
}
