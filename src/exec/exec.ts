// The one way svcplane runs a kernel tool (nft, iptables-restore, ipvsadm, ipset,
// ip, conntrack, git...). Everything that touches the system goes through an Exec,
// so a unit test can hand the code a recording fake (fake.ts) and assert the exact
// commands and transactions it would send, without a kernel.
//
// Argument arrays only, never a shell. A network namespace is a parameter, not a
// wrapper each caller writes. Results never reject on exit status (many tools say
// "nothing to do" with a non-zero code); `runChecked` is the throwing form, and its
// error carries the command line, the exit code and the tool's stderr.

export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  /**
   * Text for the tool's stdin. It goes through a private regular file, not a pipe:
   * tools reading `-f -` open /dev/stdin by path, which fails (ENXIO) on the socket
   * Node gives a child for a pipe.
   */
  readonly input?: string;
  /**
   * The same, in pieces written one after the other (instead of `input`), pulled
   * one at a time (an iterable is read once, possibly a generator that makes each
   * piece when asked): a caller with a large document (a full nft load at 10k
   * Services, ~50 MB) never holds it whole. A piece that throws fails the run
   * before the tool starts.
   */
  readonly inputChunks?: Iterable<string>;
  /**
   * When set, stdout is not collected: each line of it (without the newline) goes here as
   * the tool prints it, and the result's stdout is ''. For outputs too large to hold
   * whole (iptables-save of a table of 10k Services, ~48 MB; collected, execa holds its
   * chunks and the decoded text at once).
   */
  readonly stdoutLines?: (line: string) => void;
  /**
   * The same for output that is one long line (nft's JSON listing of a 10k-Service table,
   * tens of MB without a newline): stdout as the pipe delivers it, cut anywhere (a
   * character is never cut), and the result's stdout is ''. Not with stdoutLines.
   */
  readonly stdoutChunks?: (chunk: string) => void;
  /** Run inside this named network namespace (`ip netns exec NAME ...`). */
  readonly netns?: string;
  /** Kill the tool after this long (it then fails with exit code 124-like `timedOut`). */
  readonly timeoutMs?: number;
  /**
   * Told the tool's process id as soon as it is started (synchronously: before any line a
   * watcher prints about it is read): a watcher of the ruleset tells our own commits from
   * other processes' by it (src/backends/iptables/ruleset-events.ts). `ip netns exec` execs the tool in place,
   * so the id is the tool's.
   */
  readonly onSpawn?: (pid: number) => void;
}

export interface ExecResult {
  /** The tool's exit status; 1 when it could not be started or was killed. */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when timeoutMs ran out and the tool was killed. */
  readonly timedOut?: boolean;
}

export interface Exec {
  /** Runs the command to its end; never rejects because of the exit status. */
  run(command: Command): Promise<ExecResult>;
}

/** `file args...` as a person would type it (for errors and logs). */
export function commandLine(command: Pick<Command, 'file' | 'args' | 'netns'>): string {
  const words = [...(command.netns ? ['ip', 'netns', 'exec', command.netns] : []), command.file, ...command.args];
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
}

/** A tool that exited non-zero (or could not run): names the command and carries its stderr. */
export class ExecError extends Error {
  readonly command: string;
  readonly exitCode: number;
  readonly stderr: string;
  constructor(command: Command, result: ExecResult) {
    const why = result.timedOut ? `timed out after ${command.timeoutMs} ms` : `exited ${result.exitCode}`;
    const stderr = result.stderr.trim();
    super(`${commandLine(command)} ${why}${stderr ? `: ${stderr}` : ''}`);
    this.name = 'ExecError';
    this.command = commandLine(command);
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
  }
}

/** Runs the command and returns its stdout; an ExecError when it exits non-zero. */
export async function runChecked(exec: Exec, command: Command): Promise<string> {
  const r = await exec.run(command);
  if (r.exitCode !== 0) throw new ExecError(command, r);
  return r.stdout;
}
