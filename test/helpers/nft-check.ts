// `nft -c -j -f` on a document, inside a throw-away network namespace so that even
// the check never touches the host's tables. Fails loudly when nft or root is missing.

import { execa } from 'execa';
import { systemExec } from '../../src/exec/system-exec.js';

let counter = 0;

export async function nftCheck(document: string): Promise<{ ok: boolean; stderr: string }> {
  // svp-<pid>-...: the e2e sweep (test/e2e/lib/netns.ts) deletes it if this process dies mid-check.
  const ns = `svp-${process.pid}-check-${counter++}`;
  await execa('ip', ['netns', 'add', ns]);
  try {
    const r = await systemExec.run({ file: 'nft', args: ['-c', '-j', '-f', '-'], netns: ns, input: document });
    return { ok: r.exitCode === 0, stderr: r.stderr };
  } finally {
    await execa('ip', ['netns', 'delete', ns], { reject: false });
  }
}
