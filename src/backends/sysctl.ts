// Kernel settings a backend needs, written under /proc/sys of the current network
// namespace. Only raises what is missing; a read-only /proc is reported, not fatal.

import { readFile, writeFile } from 'node:fs/promises';

export async function ensureSysctls(wanted: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const path = `/proc/sys/${key}`;
    try {
      const cur = (await readFile(path, 'utf8')).trim();
      if (cur !== value) await writeFile(path, value);
    } catch (e) {
      problems.push(`${key}: ${(e as Error).message}`);
    }
  }
  return problems;
}
