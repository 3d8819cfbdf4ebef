// Runs an nft JSON listing into an NftListingSink as the pipe delivers it (listing-stream.ts):
// the one way our code reads a listing too large to hold (a read-back's streamed diff, the
// summaries, the traffic counters), never its text whole.

import { ExecError, type Command, type Exec, type ExecResult } from '../../exec/exec.js';
import { NftListingStream, type NftListingSink } from './listing-stream.js';

/** `nft ARGS` (a JSON listing) read into `sink`; a failed read throws once nft is done. The exit status is the caller's to judge. */
export async function streamListing(args: readonly string[], sink: NftListingSink, netns: string | undefined, exec: Exec, timeoutMs?: number): Promise<{ cmd: Command; r: ExecResult }> {
  const reader = new NftListingStream(sink);
  let failed: { error: unknown } | undefined;
  const cmd: Command = {
    file: 'nft',
    args,
    ...(netns ? { netns } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    // A throw here would be the pipe's: kept, and thrown once nft is done.
    stdoutChunks: (chunk) => {
      if (failed) return;
      try {
        reader.push(chunk);
      } catch (error) {
        failed = { error };
      }
    },
  };
  const r = await exec.run(cmd);
  if (r.exitCode === 0) {
    if (failed) throw failed.error;
    reader.end();
  }
  return { cmd, r };
}

/**
 * The same, throwing when nft fails (ExecError: the command and its stderr); with
 * `absentOk`, a table that does not exist is false (a family the node does not use).
 */
export async function streamListingChecked(args: readonly string[], sink: NftListingSink, netns: string | undefined, exec: Exec, opts: { absentOk?: boolean; timeoutMs?: number } = {}): Promise<boolean> {
  const { cmd, r } = await streamListing(args, sink, netns, exec, opts.timeoutMs);
  if (r.exitCode === 0) return true;
  if (opts.absentOk && /No such file or directory/.test(r.stderr)) return false;
  throw new ExecError(cmd, r);
}
