// Boots the test VM under qemu (TCG: KVM does not work on these machines), runs one shell
// script inside it, and returns its output and exit code.
//
// Per run, a small cpio with /work/script.sh and /work/input/* is appended to the cached
// base initramfs (the kernel unpacks archives laid end to end), so nothing is rebuilt.
// The script's output comes back on the second serial port between markers; the console
// (first serial port) is saved as a log, kept on failure for debugging.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { realpath } from 'node:fs/promises';
import { execa } from 'execa';
import { writeCpio, parentDirs, type CpioEntry } from './cpio.js';
import { prepareVmAssets, vmCacheRoot } from './assets.js';

export interface RunInVmOptions {
  /** Whole run, boot included; qemu is killed when it passes. Default 180 s. */
  readonly timeoutMs?: number;
  /** Files for the script, at /work/input/<name> (names may contain folders). */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** Guest memory in MiB. Default 512. */
  readonly memoryMiB?: number;
  /**
   * Share the host's root filesystem with the guest, read-only, at /host (virtio-9p),
   * and put `host-node` on the guest's PATH: the host's own node binary (run from
   * /host, its shared libraries too), so the script can run the project's real code,
   * e.g. `host-node --import tsx /host/work/main/src/cli/main.ts ...`. Default false.
   */
  readonly hostFs?: boolean;
}

export interface VmResult {
  readonly exitCode: number;
  /** The script's stdout and stderr, interleaved, with \r\n turned into \n. */
  readonly output: string;
  /** Wall time of the run in ms, boot included. */
  readonly durationMs: number;
  /** The console log (kernel and /init messages) of this run. */
  readonly consoleLog: string;
}

/** Thrown when the VM did not run the script to its end (timeout, setup failure, crash). */
export class VmError extends Error {
  constructor(
    message: string,
    readonly consoleLogPath: string,
  ) {
    super(message);
    this.name = 'VmError';
  }
}

const live = new Set<import('node:child_process').ChildProcess>();
let exitHookInstalled = false;

/** A test process that dies (error, signal) must not leave a qemu running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Runs `script` with /bin/sh (busybox) as root inside a fresh VM whose modules are loaded
 * and whose loopback is up, cwd /work. Resolves with the script's exit code and output,
 * whatever that code is. Rejects with a VmError (console log kept, path in the message)
 * when the VM times out, fails to set up, or dies before the script ends.
 */
export async function runInVm(script: string, opts: RunInVmOptions = {}): Promise<VmResult> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const assets = await prepareVmAssets();
  const qemu = await findQemu();
  const runsDir = join(vmCacheRoot(), 'runs');
  await mkdir(runsDir, { recursive: true });
  await pruneRuns(runsDir);
  const runDir = await mkdtemp(join(runsDir, 'run-'));
  const initrd = join(runDir, 'initrd.cpio');
  const consoleLog = join(runDir, 'console.log');
  const outputLog = join(runDir, 'output.log');
  let keep = false;
  try {
    const extra = opts.hostFs ? await hostFsEntries() : [];
    await writeFile(initrd, Buffer.concat([await readFile(assets.initrd), runArchive(script, opts.files ?? {}, extra)]));
    await writeFile(outputLog, '');
    const args = [
      '-accel', 'tcg',
      '-m', String(opts.memoryMiB ?? 512),
      '-smp', '1',
      '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
      '-monitor', 'none',
      '-serial', `file:${consoleLog}`,
      '-serial', `file:${outputLog}`,
      '-kernel', assets.kernel,
      '-initrd', initrd,
      '-append', 'console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off tsc=unstable',
      // multidevs=remap: the host's / spans several devices; keeps guest inode numbers unique.
      ...(opts.hostFs
        ? ['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap']
        : []),
    ];
    const started = Date.now();
    const { code, timedOut, stderr } = await spawnWithTimeout(qemu, args, timeoutMs);
    const durationMs = Date.now() - started;
    const consoleText = existsSync(consoleLog) ? await readFile(consoleLog, 'utf8') : '';
    const output = (await readFile(outputLog, 'utf8')).replace(/\r\n/g, '\n');
    const fail = (why: string): never => {
      keep = true;
      throw new VmError(
        `${why}\nconsole log kept at ${consoleLog} (script output at ${outputLog}); its last lines:\n` +
          consoleText.split(/\r?\n/).slice(-25).join('\n'),
        consoleLog,
      );
    };
    if (timedOut) fail(`VM run timed out after ${timeoutMs} ms; qemu was killed`);
    const setup = /SVCPLANE-VM-SETUP-FAILED: (.*)/.exec(output);
    if (setup) fail(`VM setup failed: ${setup[1]}`);
    const begin = output.indexOf('SVCPLANE-VM-BEGIN\n');
    const end = /SVCPLANE-VM-END rc=(\d+)\n/.exec(output);
    if (begin < 0 || !end) {
      fail(`VM ended (qemu exit ${code}) without finishing the script${stderr ? `; qemu said: ${stderr.trim()}` : ''}`);
    }
    return {
      exitCode: Number(end![1]),
      output: output.slice(begin + 'SVCPLANE-VM-BEGIN\n'.length, end!.index),
      durationMs,
      consoleLog: consoleText.replace(/\r\n/g, '\n'),
    };
  } finally {
    if (keep) await rm(initrd, { force: true });
    else await rm(runDir, { recursive: true, force: true });
  }
}

/**
 * What the hostFs option adds to the per-run archive: the flag file guest-init.sh mounts
 * /host for, and /usr/bin/host-node, which runs the host's node from /host with the
 * host's copies of its libraries (the guest has only the libraries its tools need).
 */
export async function hostFsEntries(): Promise<CpioEntry[]> {
  const node = await realpath(process.execPath);
  const ldd = await execa('ldd', [node], { reject: false });
  // Folders of node's libraries as ldd resolves them on the host ("x => /lib/.../x.so (0x..)").
  const dirs = [...new Set([...ldd.stdout.matchAll(/=>\s*(\/\S+)/g)].map((m) => dirname(m[1]!)))];
  const libraryPath = dirs.map((d) => `/host${d}`).join(':');
  const wrapper =
    '#!/bin/sh\n' +
    '# The host\'s node, from the host filesystem shared at /host (runInVm hostFs).\n' +
    `LD_LIBRARY_PATH=${libraryPath}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} exec /host${node} "$@"\n`;
  return [
    { kind: 'file', path: 'etc/svcplane-vm/hostfs', data: `${node}\n` },
    { kind: 'file', path: 'usr/bin/host-node', data: wrapper, mode: 0o755 },
  ];
}

/** The per-run archive: /work/script.sh and /work/input/<name> for each file (and `extra` entries). */
export function runArchive(
  script: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  extra: readonly CpioEntry[] = [],
): Buffer {
  const entries: CpioEntry[] = [];
  const names = Object.keys(files).sort();
  for (const name of names) {
    if (name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new Error(`runInVm: bad input file name '${name}' (relative, no '.', '..' or empty parts)`);
    }
  }
  const filePaths = names.map((n) => `work/input/${n}`);
  for (const dir of parentDirs(['work/script.sh', ...filePaths, ...extra.map((e) => e.path)])) entries.push({ kind: 'dir', path: dir });
  if (names.length === 0) entries.push({ kind: 'dir', path: 'work/input' });
  entries.push({ kind: 'file', path: 'work/script.sh', data: script, mode: 0o755 });
  names.forEach((n, i) => entries.push({ kind: 'file', path: filePaths[i]!, data: files[n]! }));
  entries.push(...extra);
  return writeCpio(entries);
}

/** Kept logs of failed runs: the newest 10 stay, older ones go. */
async function pruneRuns(runsDir: string): Promise<void> {
  const dirs = await Promise.all(
    (await readdir(runsDir)).map(async (f) => ({ f, t: (await stat(join(runsDir, f)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  dirs.sort((a, b) => b.t - a.t);
  for (const { f } of dirs.slice(10)) await rm(join(runsDir, f), { recursive: true, force: true });
}

async function findQemu(): Promise<string> {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']) {
    const p = join(dir, 'qemu-system-x86_64');
    if (dir && existsSync(p)) return p;
  }
  throw new Error('qemu-system-x86_64 not found: the IPVS test VM needs it (apt-get install qemu-system-x86; .ci/run installs it)');
}

function spawnWithTimeout(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; timedOut: boolean; stderr: string }> {
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let stderr = '';
    let timedOut = false;
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 10_000) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, timedOut, stderr });
    });
  });
}
