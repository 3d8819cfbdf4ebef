// What tells one version of an endpoint file from the next: inode, size and mtime, as
// fields of the record the cache keeps for the file (endpoint-files.ts), each a small
// integer V8 stores in the field itself (a Smi). The version was a string
// `ino:size:mtimeMs` (~48 bytes a file, 2.1 MB at 44k files, issue 16 §1); these four
// fields are 32 bytes, and nothing apart from the record.
//
// The mtime is kept exactly, as the string had it: mtimeMs is a double (sub-millisecond
// where the file system has it), too large for a Smi, and as a field of its own V8 would
// box it (16 bytes more). Its two 32-bit halves, each read as a signed 32-bit integer,
// are Smis and give the double back bit for bit: two versions compare equal here exactly
// when their strings did.

import type { Stats } from 'node:fs';

const double = new Float64Array(1);
const halves = new Int32Array(double.buffer);

/** A file's inode, size and mtime when it was read; records of the cache extend it. */
export abstract class FileVersion {
  private readonly ino: number;
  private readonly size: number;
  private readonly mtimeLow: number;
  private readonly mtimeHigh: number;

  constructor(st: Stats) {
    this.ino = st.ino;
    this.size = st.size;
    double[0] = st.mtimeMs;
    this.mtimeLow = halves[0]!;
    this.mtimeHigh = halves[1]!;
  }

  /** Whether `st` is the version this record was read at (same inode, size and mtime, to the bit). */
  sameVersion(st: Stats): boolean {
    if (st.ino !== this.ino || st.size !== this.size) return false;
    double[0] = st.mtimeMs;
    return halves[0] === this.mtimeLow && halves[1] === this.mtimeHigh;
  }
}
