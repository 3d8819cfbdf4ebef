// A set of addresses for the render's dedupe (the hairpin elements: one per endpoint address
// of a family's table, ~65k at 10k Services x 10 endpoints). IPv4 addresses are kept as
// numbers in an open-addressing table of typed arrays, anything else in a Set of strings.
// Why: a Set<string> of 10^5 distinct address strings (each its own object: hashed on first
// use) cost ~2.5-4x the time of this table in a micro-benchmark (README.md). Pure.

import { parseV4Number } from '../../model/ip.js';

export class AddressSet {
  private keys = new Uint32Array(1024);
  private used = new Uint8Array(1024);
  private count = 0;
  private readonly others = new Set<string>();

  /** Adds `ip`; true when it was not there before. `ip` must be canonical (as the model's addresses are). */
  add(ip: string): boolean {
    const n = parseV4Number(ip);
    if (n === undefined) {
      if (this.others.has(ip)) return false;
      this.others.add(ip);
      return true;
    }
    return this.addNumber(n);
  }

  private addNumber(n: number): boolean {
    if (this.count * 2 >= this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    // Fibonacci hashing of the address, then linear probing.
    let i = (Math.imul(n, 0x9e3779b1) >>> 0) & mask;
    while (this.used[i]) {
      if (this.keys[i] === n) return false;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.keys[i] = n;
    this.count++;
    return true;
  }

  private grow(): void {
    const keys = this.keys;
    const used = this.used;
    this.keys = new Uint32Array(keys.length * 2);
    this.used = new Uint8Array(keys.length * 2);
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (used[i]) this.addNumber(keys[i]!);
  }
}
