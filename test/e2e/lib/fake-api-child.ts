// The fake API server (test/agent/fake-apiserver.ts) as a child process inside a
// test's namespace (fixtures/fake-apiserver-child.ts), driven by JSON commands.

import { fileURLToPath } from 'node:url';
import { onJsonLines, tailStderr, waitReady } from './json-lines.js';
import { spawnInNetns, stopProcess, type NetnsProcess } from './netns.js';

const FAKE_API = fileURLToPath(new URL('../fixtures/fake-apiserver-child.ts', import.meta.url));

/** The fake API server child: JSON commands on stdin, answers on stdout. */
export class FakeApiChild {
  private nextId = 1;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  private constructor(
    readonly child: NetnsProcess,
    readonly port: number,
  ) {
    onJsonLines(child, (m) => {
      if (typeof m.id === 'number') this.waiting.get(m.id)?.(m);
    });
  }

  /** `host`: the address it listens on inside `ns` (default loopback). */
  static async start(ns: string, host?: string): Promise<FakeApiChild> {
    const child = spawnInNetns(ns, ['env', ...(host ? [`FAKE_API_HOST=${host}`] : []), 'node', '--import', 'tsx', FAKE_API]);
    const stderr = tailStderr(child);
    // Generous: tsx's start alone takes seconds on a loaded machine.
    const ready = await waitReady(child, 'fake API server', stderr, 60_000);
    return new FakeApiChild(child, Number(ready.port));
  }

  async send(cmd: Record<string, unknown>): Promise<void> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.child.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    const r = await reply;
    this.waiting.delete(id);
    if (r.ok !== true) throw new Error(`fake API server: ${JSON.stringify(cmd)}: ${String(r.error)}`);
  }

  upsert(resource: 'services' | 'endpointslices' | 'nodes', obj: Record<string, unknown>): Promise<void> {
    return this.send({ op: 'upsert', resource, obj });
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    await stopProcess(this.child, 2000);
  }
}
