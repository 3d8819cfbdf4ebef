// A scripted `nft -j -i` for unit tests of session.ts: it reads lines as nft does and
// answers on stderr in nft's shapes (nothing for an accepted transaction, an error for
// a refused one, a syntax error echoing the line for anything that is not JSON), and
// can die or hang on demand. Every process it starts and every line it read are kept.

import type { Command } from './exec.js';
import { exitOnce } from './exit-once.js';
import type { SessionProcess, SpawnSession } from './session-process.js';

/** What the fake nft does with one JSON transaction line. */
export type FakeVerdict =
  | { readonly accept: true }
  /** Refuse it with this error text (as nft prints it, without the trailing newline). */
  | { readonly refuse: string }
  /** Exit without answering (a crash, a kill -9 from outside). */
  | { readonly die: true }
  /** Never answer (a hung nft). */
  | { readonly hang: true }
  /** Accept it, then answer the marker in a shape nft never uses (no error line before the echo). */
  | { readonly garble: true };

export class FakeSessionProcess implements SessionProcess {
  /** The lines read, in order (transactions and markers). */
  readonly lines: string[] = [];
  /** Every transaction accepted, in order. */
  readonly accepted: string[] = [];
  killed = false;
  private partial = '';
  private stderrListeners: ((chunk: string) => void)[] = [];
  private readonly end = exitOnce();
  readonly onExit = this.end.onExit;
  /** Set at once by exit(); the listeners hear of it a microtask later, as of a real child. */
  private gone: string | undefined;
  private hung = false;
  private garbleNext = false;

  constructor(
    readonly command: Pick<Command, 'file' | 'args' | 'netns'>,
    private readonly verdict: (line: string) => FakeVerdict,
    /** Answer in chunks this small (stderr data arrives split anywhere); 0: whole. */
    private readonly chunkSize = 0,
  ) {}

  write(text: string): boolean {
    if (this.gone !== undefined) return false;
    this.partial += text;
    for (let nl = this.partial.indexOf('\n'); nl >= 0; nl = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.read(line);
    }
    return true;
  }

  onStderr(listener: (chunk: string) => void): void {
    this.stderrListeners.push(listener);
  }

  kill(): void {
    this.killed = true;
    this.exit('killed by SIGKILL');
  }

  /** Makes the process exit now, as if killed from outside. */
  exit(why = 'exited 1'): void {
    if (this.gone !== undefined) return;
    this.gone = why;
    // Asynchronously, as a real child's exit event comes.
    queueMicrotask(() => this.end.exited(why));
  }

  private read(line: string): void {
    if (this.hung || this.gone !== undefined) return;
    this.lines.push(line);
    if (!line.startsWith('{')) {
      const shape = this.garbleNext ? 'noise' : 'Error: syntax error, unexpected newline, expecting string';
      this.garbleNext = false;
      return this.say(`${shape}\n${line}\n${' '.repeat(line.length)}^\n`);
    }
    const v = this.verdict(line);
    if ('accept' in v) this.accepted.push(line);
    else if ('garble' in v) this.garbleNext = true;
    else if ('refuse' in v) this.say(`${v.refuse}\n\n`);
    else if ('die' in v) this.exit();
    else this.hung = true;
  }

  private say(text: string): void {
    const size = this.chunkSize || text.length;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    // Later, as pipe data comes: each chunk in its own task.
    for (const c of chunks) setImmediate(() => this.stderrListeners.forEach((l) => l(c)));
  }
}

/** A SpawnSession whose processes are FakeSessionProcesses judging lines with `verdict` (accept everything by default). */
export function fakeSpawn(
  verdict: (line: string) => FakeVerdict = () => ({ accept: true }),
  chunkSize = 0,
): ((command: Parameters<SpawnSession>[0]) => Promise<FakeSessionProcess>) & { readonly processes: FakeSessionProcess[] } {
  const processes: FakeSessionProcess[] = [];
  const spawn = async (command: Pick<Command, 'file' | 'args' | 'netns'>) => {
    const p = new FakeSessionProcess(command, verdict, chunkSize);
    processes.push(p);
    return p;
  };
  return Object.assign(spawn, { processes });
}
