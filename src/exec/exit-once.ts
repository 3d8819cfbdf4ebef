// How a long-lived tool process ends, told once: shared by the real processes
// (session-process.ts, watch-process.ts) and their scripted fakes, so a fake ends
// exactly as the real one does (a listener that comes late is told at once).

/** A process's exit, told once to each listener (one that comes later is told at once). */
export interface ExitOnce {
  /** The process is gone, with why; later calls change nothing. */
  readonly exited: (why: string) => void;
  readonly onExit: (listener: (why: string) => void) => void;
  /** Why it is gone, or undefined while it runs. */
  readonly gone: () => string | undefined;
}

export function exitOnce(): ExitOnce {
  const listeners: ((why: string) => void)[] = [];
  let gone: string | undefined;
  return {
    exited: (why) => {
      if (gone !== undefined) return;
      gone = why;
      for (const l of listeners) l(why);
    },
    onExit: (l) => {
      if (gone !== undefined) l(gone);
      else listeners.push(l);
    },
    gone: () => gone,
  };
}

/** How an execa child ended, in the words the exit listeners get. */
export function howItEnded(r: { readonly exitCode?: number; readonly signal?: string; readonly message?: string }): string {
  return r.exitCode !== undefined ? `exited ${r.exitCode}` : r.signal ? `killed by ${r.signal}` : (r.message ?? 'gone');
}
