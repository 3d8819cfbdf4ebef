// `svcplane top --backend B`: on a node, the busiest Services right now, from the
// traffic counters in our rules (read twice, `--interval` seconds apart), like
// `kubectl top`. Refreshes until Ctrl-C; `--once` prints one table and exits,
// `--json` prints the rows as JSON (with --once, for scripts). Reads only.
// IPVS's kernel objects carry addresses, not Service names: with that backend, give the
// inputs the node enforces (`-f`, as for render: the plan and EndpointSlices, the Node)
// and top names each virtual server from them.

import type { Command } from 'commander';
import { getBackend, RULESET_BACKEND_NAMES } from '../backends/registry.js';
import { inputError } from '../model/errors.js';
import type { RenderInput } from '../model/render-input.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';
import { formatTop, topRows } from './top-rates.js';

interface TopFlags extends InputFlags {
  backend: string;
  interval: string;
  once?: boolean;
  json?: boolean;
  limit: string;
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw inputError(undefined, flag, `must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The input that names the counters, when -f or --config gave one. */
async function namingInput(flags: TopFlags): Promise<RenderInput | undefined> {
  if (flags.file.length === 0 && !flags.config) return undefined;
  const loaded = await loadFromFlags(flags, FORWARDING);
  reportProblems(loaded);
  return loaded.input;
}

export function registerTop(program: Command): void {
  addInputFlags(program
    .command('top')
    .description('show the busiest Services on this node (packets, bytes, new connections, refusals per second) from the rules\' own counters')
    .requiredOption('--backend <name>', `the backend: ${RULESET_BACKEND_NAMES.join(' | ')}`)
    .option('--interval <seconds>', 'seconds between the two reads of the counters', '2')
    .option('--once', 'print one measurement and exit')
    .option('--json', 'print the rows as JSON (one document per measurement)')
    .option('--limit <n>', 'rows shown in the table', '20'))
    .action(async (flags: TopFlags) => {
      const backend = getBackend(flags.backend);
      const seconds = positive('--interval', flags.interval);
      const limit = positive('--limit', flags.limit);
      const read = backend.readTraffic;
      if (!read) throw inputError(undefined, '--backend', `backend ${backend.name} has no traffic counters to read`);
      const input = await namingInput(flags);
      if (!input && backend.trafficNamedByInput) throw inputError(undefined, '-f', `${backend.name} counts per address: give the inputs the node enforces (-f plan.json, EndpointSlices, the Node) to name its Services`);
      let before = await read(undefined, undefined, input);
      for (;;) {
        await sleep(seconds * 1000);
        const after = await read(undefined, undefined, input);
        const rows = topRows(before, after, seconds);
        if (flags.json) process.stdout.write(JSON.stringify({ backend: backend.name, intervalSeconds: seconds, services: rows }) + '\n');
        else process.stdout.write(`${flags.once ? '' : '\x1b[2J\x1b[H'}${formatTop(rows, limit)}`);
        if (flags.once) return;
        before = after;
      }
    });
}
