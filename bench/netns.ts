// Throw-away network namespaces for the benchmark's applies. Every namespace made
// here is deleted: by the caller's `finally`, and on SIGINT/SIGTERM or a crash.

import { execa } from 'execa';
import { spawnSync } from 'node:child_process';

const live = new Set<string>();

export async function addNetns(name: string): Promise<string> {
  await execa('ip', ['netns', 'add', name]);
  live.add(name);
  await execa('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  if (!live.has(name)) return;
  await execa('ip', ['netns', 'delete', name], { reject: false });
  live.delete(name);
}

/** Deletes every namespace still alive, synchronously (on a signal there is no time for promises). */
export function deleteAllNetnsSync(): void {
  for (const n of live) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore' });
  live.clear();
}

/** Runs fn with a fresh namespace, deleted afterwards whatever happens. */
export async function withNetns<T>(name: string, fn: (ns: string) => Promise<T>): Promise<T> {
  await addNetns(name);
  try {
    return await fn(name);
  } finally {
    await deleteNetns(name);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    deleteAllNetnsSync();
    process.exit(130);
  });
}
