// A process that starts a ruleset watch in namespace argv[2], says "listening", and waits:
// resync.test.ts kills it with SIGKILL and expects the monitor to die with it.

import { RulesetWatch } from '../../../src/backends/iptables/ruleset-watch.js';

const watch = new RulesetWatch(process.argv[2]);
if (!(await watch.start())) throw new Error('the monitor did not start listening');
process.stdout.write('listening\n');
setInterval(() => {}, 1000);
