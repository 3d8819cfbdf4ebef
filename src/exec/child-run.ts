// One child process run to its end with node:child_process, its output collected:
// the part of execa the exec layer used. execa's module graph (~110 ESM files with
// its dependencies) cost the agent ~5 MB of RSS, a sixth of what the whole agent
// adds over bare node (src/agent/README.md "Memory"), for a dozen lines of this.
//
// What is kept of execa's behaviour, because callers and tests rely on it: output as
// UTF-8 text with one final newline stripped, never a rejection (a tool that cannot
// start is exit 1 with the reason as stderr), a timeout that sends SIGTERM and then
// SIGKILL 5 s later, and a cap on the output. What is not: execa killed running
// children when our process exited (signal-exit); now a tool under way finishes its
// transaction, which is what the agent wants of a SIGTERM anyway (src/agent/README.md).

import { spawn } from 'node:child_process';
import type { ExecResult } from './exec.js';

/** A tool still running this long after a timeout's SIGTERM gets SIGKILL (execa's default). */
const FORCE_KILL_AFTER_MS = 5000;

export interface ChildRun {
  readonly file: string;
  readonly args: readonly string[];
  /** The child's stdin: a file descriptor (ours stays open: the caller closes it) or nothing. */
  readonly stdin: number | 'ignore';
  /** Output (stdout and stderr together) beyond this many bytes kills the child and fails the run. */
  readonly maxBuffer: number;
  readonly timeoutMs?: number;
}

const stripFinalNewline = (s: string): string => (s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s);

export function runChild(run: ChildRun): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(run.file, [...run.args], { stdio: [run.stdin, 'pipe', 'pipe'] });
    const out: string[] = [];
    const err: string[] = [];
    let bytes = 0;
    let failure: string | undefined;
    let timedOut = false;
    let forceKill: NodeJS.Timeout | undefined;
    const collect = (into: string[]) => (chunk: string) => {
      bytes += Buffer.byteLength(chunk);
      if (bytes > run.maxBuffer && failure === undefined) {
        failure = `output over ${run.maxBuffer} bytes`;
        child.kill('SIGKILL');
      }
      into.push(chunk);
    };
    child.stdout!.setEncoding('utf8').on('data', collect(out));
    child.stderr!.setEncoding('utf8').on('data', collect(err));
    const timer = run.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS).unref();
        }, run.timeoutMs)
      : undefined;
    let settled = false;
    const settle = (exitCode: number, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(forceKill);
      const stderr = stripFinalNewline(err.join(''));
      resolve({
        exitCode,
        stdout: stripFinalNewline(out.join('')),
        stderr: failure ?? (stderr || (why ?? '')),
        ...(timedOut ? { timedOut: true } : {}),
      });
    };
    // Could not start (ENOENT, EACCES...): 'close' may not follow.
    child.on('error', (e) => settle(1, `${run.file}: ${e.message}`));
    // 'close', not 'exit': the output pipes are read to their end.
    child.on('close', (code, signal) => settle(failure === undefined ? (code ?? 1) : 1, signal ? `killed by ${signal}` : undefined));
  });
}
