// A scripted WatchProcess (watch-process.ts) for unit tests: the test prints lines as the
// tool would, and makes it die; no kernel, no process.

import { exitOnce } from './exit-once.js';
import type { SpawnWatch, WatchProcess } from './watch-process.js';

export class FakeWatchProcess implements WatchProcess {
  readonly ready: Promise<boolean>;
  killed = false;
  private readonly lines: ((line: string) => void)[] = [];
  private readonly end = exitOnce();
  readonly onExit = this.end.onExit;

  constructor(listens = true) {
    this.ready = Promise.resolve(listens);
  }

  onLine(listener: (line: string) => void): void {
    this.lines.push(listener);
  }

  kill(): void {
    this.killed = true;
    this.die('killed by SIGKILL');
  }

  /** The tool prints `text` (one or more lines). */
  print(text: string): void {
    if (this.end.gone() !== undefined) return;
    for (const line of text.split('\n')) for (const l of this.lines) l(line);
  }

  /** The tool exits. */
  die(why = 'exited 1: cannot receive from nfnetlink socket: No buffer space available'): void {
    this.end.exited(why);
  }
}

/** A SpawnWatch that hands out FakeWatchProcesses and keeps them (newest last). */
export function fakeSpawnWatch(listens = true): { spawn: SpawnWatch; started: FakeWatchProcess[] } {
  const started: FakeWatchProcess[] = [];
  return {
    started,
    spawn: () => {
      const p = new FakeWatchProcess(listens);
      started.push(p);
      return p;
    },
  };
}
