// What `xtables-monitor -e` prints, told apart: our own commits from other processes',
// and other processes' changes that may touch what we hold from those that cannot. Pure:
// ruleset-watch.ts feeds it the lines of a running monitor.
//
// xtables-monitor (iptables 1.8.9) prints each event of a transaction, then one line for
// the transaction itself, which names the process that committed it:
//
//    EVENT: -4 -t nat -A SVP-SERVICES -d 10.96.0.10/32 … -j SVP-SVC-…
//    EVENT: nft: DEL table: table nat ip flags 0 use 0 handle 4
//    EVENT: # nft: ip nat PREROUTING use 1 type nat hook prerouting …
//   NEWGEN: GENID=13 PID=27816 NAME=iptables-restor
//
// A generation is ours when its PID is one the exec layer told us it spawned. Another
// process's generation is harmless only when every event of it is shown and cannot touch
// our chains: a rule added or deleted in a chain that is neither ours (SVP-…) nor a
// built-in one (where our jumps and counting rules are), a chain not ours deleted, or any
// change to a table that is not ip/ip6 filter, nat or mangle. Anything else (a chain
// created: a rename of ours prints only that; a table of ours created or deleted; an
// event printed empty, as rules of tables iptables cannot decode are; a generation with
// no event shown, as a set element change) counts as a foreign change.

import { CHAIN_PREFIX } from './names.js';

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
const OUR_TABLES = new Set(['filter', 'nat', 'mangle']);
const OUR_FAMILIES = new Set(['ip', 'ip6']);

/** Why an event line may touch what we hold; undefined when it cannot. */
export function eventConcern(event: string): string | undefined {
  // iptables' own form: "-4 -t TABLE OP CHAIN …"
  const ipt = /^-[46] -t (\S+) (-[A-Z]) (\S+)/.exec(event);
  if (ipt) {
    const [, , op, chain] = ipt;
    if (chain!.startsWith(CHAIN_PREFIX) || BUILTIN.has(chain!)) return event;
    if (op === '-A' || op === '-D' || op === '-I' || op === '-R' || op === '-X') return undefined;
    return event;
  }
  // A table: "nft: NEW table: table NAME FAMILY …"
  const table = /^nft: (?:NEW|DEL) table: table (\S+) (\S+)/.exec(event);
  if (table) return OUR_TABLES.has(table[1]!) && OUR_FAMILIES.has(table[2]!) ? event : undefined;
  // A chain iptables does not print its way: "# nft: FAMILY TABLE CHAIN …"
  const chain = /^# nft: (\S+) (\S+) \S+/.exec(event);
  if (chain) return OUR_TABLES.has(chain[2]!) && OUR_FAMILIES.has(chain[1]!) ? event : undefined;
  return event === '' ? 'an event xtables-monitor cannot print' : event;
}

/** How many of our process ids to remember (a sync runs tens of tools; ids are reused only after pid_max). */
const OURS_KEPT = 4096;

/** How many foreign changes a verdict names. */
const MAX_NAMED = 3;

/**
 * The monitor's lines, a generation at a time: which foreign generations may have touched
 * what we hold since the last `take()`.
 */
export class RulesetEvents {
  private readonly ours = new Set<number>();
  /** Why the events since the last NEWGEN line may concern us (first one only). */
  private pending: string | undefined;
  private events = 0;
  private foreign: string[] = [];
  private foreignCount = 0;
  /** The process of the last generation seen, whoever it was. */
  lastPid: number | undefined;

  /** A process the exec layer started for us: its generations are ours. */
  ownProcess(pid: number): void {
    this.ours.add(pid);
    if (this.ours.size > OURS_KEPT) this.ours.delete(this.ours.values().next().value!);
  }

  /** A new monitor's lines follow: forget a generation whose events were read and its NEWGEN line not. */
  newStream(): void {
    this.pending = undefined;
    this.events = 0;
  }

  line(line: string): void {
    const ev = /^\s*EVENT: ?(.*)$/.exec(line);
    if (ev) {
      this.events++;
      this.pending ??= eventConcern(ev[1]!.trim());
      return;
    }
    const gen = /^NEWGEN: GENID=(\d+) PID=(\d+) NAME=(.*)$/.exec(line.trim());
    if (gen) {
      const pid = Number(gen[2]);
      this.lastPid = pid;
      const concern = this.pending ?? (this.events === 0 ? 'no event shown' : undefined);
      if (!this.ours.has(pid) && concern !== undefined) {
        this.foreignCount++;
        if (this.foreign.length < MAX_NAMED) this.foreign.push(`generation ${gen[1]} by ${gen[3]} (pid ${pid}): ${concern.slice(0, 160)}`);
      }
      this.pending = undefined;
      this.events = 0;
      return;
    }
    // A line of no known shape: say so at the next generation.
    if (line.trim() !== '') this.pending ??= `unknown monitor line: ${line.slice(0, 160)}`;
  }

  /** How many foreign changes were seen since the last take. */
  get seen(): number {
    return this.foreignCount;
  }

  /** The foreign changes seen since the last take (undefined: none), and start again. */
  take(): string[] | undefined {
    if (this.foreignCount === 0) return undefined;
    const out = this.foreignCount > this.foreign.length ? [...this.foreign, `… ${this.foreignCount - this.foreign.length} more`] : this.foreign;
    this.foreign = [];
    this.foreignCount = 0;
    return out;
  }
}
