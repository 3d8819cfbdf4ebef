// The logger the watch layer writes to: the subset of pino it uses, so the agent
// passes its own pino logger and tests pass a recorder.

import { pino } from 'pino';

export interface WatchLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

let fallback: WatchLogger | undefined;

/** pino on stderr, for callers that pass no logger; created on first use only. */
export function defaultWatchLogger(): WatchLogger {
  fallback ??= pino({ name: 'svcplane-watch' }, pino.destination(2));
  return fallback;
}
