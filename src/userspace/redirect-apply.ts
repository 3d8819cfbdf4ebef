// The only userspace-proxy code that touches nftables: load the redirect document, or
// remove our tables. Whether nft may be used at all is decided here too: a node
// without the binary or without CAP_NET_ADMIN still gets its relays, without rules.

import { ExecError, type Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { nftLoad } from '../backends/nftables/apply.js';
import type { NftFamily } from '../backends/nftables/nft.js';
import { deleteDocument, USERSPACE_TABLE } from './redirect-rules.js';

export interface RedirectRunner {
  /** Loads one nft JSON document as one transaction. */
  load(document: string): Promise<void>;
}

/** nft cannot be used here at all (missing, or not permitted): an error worth a warning, not a retry storm. */
export class NftUnavailable extends Error {}

const NOT_PERMITTED = /Operation not permitted|Permission denied|EPERM|EACCES/;

export function redirectRunner(netns?: string, exec: Exec = systemExec): RedirectRunner {
  let checked = false;
  return {
    async load(document) {
      if (!checked) {
        const r = await exec.run({ file: 'nft', args: ['--version'] });
        // A tool that cannot be started is exit 1 with the spawn error (ENOENT) as its stderr.
        if (r.exitCode !== 0 && /\bENOENT\b/.test(r.stderr)) throw new NftUnavailable('nft is not installed');
        checked = true;
      }
      try {
        await nftLoad(document, false, netns, exec);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (NOT_PERMITTED.test(msg)) throw new NftUnavailable(msg);
        throw e;
      }
    },
  };
}

/** Removes our redirect tables (both families), and nothing else; returns how many went. */
export async function cleanupRedirectTables(exec: Exec = systemExec): Promise<number> {
  const present: NftFamily[] = [];
  for (const family of ['ip', 'ip6'] as const) {
    const cmd = { file: 'nft', args: ['list', 'table', family, USERSPACE_TABLE] };
    const r = await exec.run(cmd);
    if (r.exitCode === 0) present.push(family);
    else if (!/No such file or directory/.test(r.stderr)) throw new ExecError(cmd, r);
  }
  if (present.length) await nftLoad(deleteDocument(present), false, undefined, exec);
  return present.length;
}
