// execa, imported on first use. execa's module graph (~280 files) costs ~0.1 s of
// start-up, and most processes that load a backend only render (`svcplane render`,
// synth): they never run a tool. The callers await the whole run with text output,
// so that is the only shape offered here.

export interface ExecOptions {
  readonly reject: false;
  readonly maxBuffer?: number;
  /** 'pipe' or, through a cast, a file descriptor (see stdin-file.ts). */
  readonly stdin?: 'pipe';
  readonly input?: string;
}

export interface ExecResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export async function execa(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const { execa: run } = await import('execa');
  const r = await run(file, args, options);
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}
