// A long-lived tool process we talk to line by line (today only `nft -j -i`): the
// second shape of the exec layer beside Exec.run, which runs a tool to its end.
// The session logic (session.ts) sees only this interface, so a unit test drives
// it with a scripted fake (fake-session.ts) and no kernel.

import type { Command } from './exec.js';
import { exitOnce, howItEnded } from './exit-once.js';

export interface SessionProcess {
  /** The process id, when there is a real process (tests kill it from outside). */
  readonly pid?: number;
  /** Text for the tool's stdin; false once the process can no longer take it. */
  write(text: string): boolean;
  /** Every chunk the tool writes on stderr, in order. */
  onStderr(listener: (chunk: string) => void): void;
  /** Called once when the process is gone (exited, killed, or never started), with why. */
  onExit(listener: (why: string) => void): void;
  /** Kills the process (SIGKILL: a hung nft does not read a polite signal either). */
  kill(): void;
}

/** Starts `command` (file, args, netns) with a pipe on stdin and stderr. */
export type SpawnSession = (command: Pick<Command, 'file' | 'args' | 'netns'>) => Promise<SessionProcess>;

/**
 * The real one, through execa (loaded on first use, as system-exec.ts does).
 * - HOME points nowhere: `nft -i` reads and writes its line history under $HOME
 *   (editline's `~/.nft_history`), and our lines are whole transactions.
 * - stdout is ignored: nft writes nothing there for the commands we send, and an
 *   unread pipe would fill up and block it.
 * - The child and its pipes are unref'd: a session must not keep a stopping agent
 *   alive; when our process exits, nft reads EOF on stdin and exits too.
 */
export const spawnSystemSession: SpawnSession = async (command) => {
  const { execa } = await import('execa');
  const [file, args] = command.netns ? ['ip', ['netns', 'exec', command.netns, command.file, ...command.args]] : [command.file, [...command.args]];
  const child = execa(file, args, {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    env: { HOME: '/nonexistent' },
  });
  const { exited, onExit, gone } = exitOnce();
  // An EPIPE on a dead child's stdin is reported through exit, not thrown.
  child.stdin!.on('error', (e) => exited(`stdin: ${e.message}`));
  child.stderr!.setEncoding('utf8');
  void child.then((r) => exited(howItEnded(r)));
  for (const h of [child, child.stdin, child.stderr] as { unref?: () => void }[]) h.unref?.();
  return {
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    write: (text) => {
      if (gone() !== undefined || !child.stdin!.writable) return false;
      child.stdin!.write(text);
      return true;
    },
    onStderr: (l) => void child.stderr!.on('data', l),
    onExit,
    kill: () => void child.kill('SIGKILL'),
  };
};
