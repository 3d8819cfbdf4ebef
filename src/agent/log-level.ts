// The agent's log level: --log-level, or kube-proxy's klog verbosity (-v / --v, or the
// KubeProxyConfiguration's logging.verbosity) mapped onto it. Pure.
//
// klog's verbosity → svcplane (pino) level, following kube-proxy's own use of -v:
//   0-1  info   kube-proxy's default: problems, and the one line per sync
//   2    info + detail: the sync line also names the Services it changed (kube-proxy
//        logs its steady-state per-sync lines at V(2))
//   3-4  debug  watch restarts, file reloads, conntrack cleanups (kube-proxy's V(3)/V(4))
//   ≥5   trace  everything (kube-proxy's V(5)+ dumps rules and events)
// --log-level wins over -v, which wins over the file (kube-proxy: flags override --config).

import { inputError } from '../model/errors.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSettings {
  readonly level: LogLevel;
  /** -v 2: the sync line names the Services it changed. */
  readonly detail: boolean;
}

export function verbosityToLevel(v: number): LogSettings {
  if (v >= 5) return { level: 'trace', detail: true };
  if (v >= 3) return { level: 'debug', detail: true };
  return { level: 'info', detail: v >= 2 };
}

/** Throws a usage error naming the flag for a level or verbosity that is not one. */
export function logSettings(flags: { logLevel?: string | undefined; v?: string | undefined }, configVerbosity: number | undefined): LogSettings {
  if (flags.logLevel !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) throw inputError(undefined, '--log-level', `must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(flags.logLevel)}`);
    const level = flags.logLevel as LogLevel;
    return { level, detail: level === 'debug' || level === 'trace' };
  }
  if (flags.v !== undefined) {
    if (!/^\d{1,3}$/.test(flags.v)) throw inputError(undefined, '-v', `must be a verbosity 0, 1, 2, ... (klog's), not ${JSON.stringify(flags.v)}`);
    return verbosityToLevel(Number(flags.v));
  }
  return verbosityToLevel(configVerbosity ?? 0);
}
