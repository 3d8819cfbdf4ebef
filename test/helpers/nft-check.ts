// `nft -c -j -f` on a document, inside a throw-away network namespace so that even
// the check never touches the host's tables. Fails loudly when nft or root is missing.

import { execa } from 'execa';
import { execWithInput } from '../../src/backends/stdin-file.js';

let counter = 0;

export async function nftCheck(document: string): Promise<{ ok: boolean; stderr: string }> {
  // svp-<pid>-...: the e2e sweep (test/e2e/lib/netns.ts) deletes it if this process dies mid-check.
  const ns = `svp-${process.pid}-check-${counter++}`;
  await execa('ip', ['netns', 'add', ns]);
  try {
    const r = await execWithInput('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', '-f', '-'], document);
    return { ok: r.exitCode === 0, stderr: r.stderr };
  } finally {
    await execa('ip', ['netns', 'delete', ns], { reject: false });
  }
}
