#!/usr/bin/env node
// Entry point of the `svcplane` binary.

import { runCli } from './program.js';

// The agent starts with V8's optimising compiler held back, before its modules load
// (src/agent/jit-policy.ts says why and when it is released); other commands load none of it.
if (process.argv[2] === 'agent') (await import('../agent/jit-policy.js')).holdOptimizer();
process.exitCode = await runCli(process.argv.slice(2));
