// `node --import` this file to profile a process whose command line we do not own
// (NODE_OPTIONS refuses --cpu-prof): the V8 profiler runs from start to exit and the
// profile lands in $SVP_CPU_PROF_DIR/<pid>.cpuprofile. The main thread's inspector
// session answers synchronously, so the 'exit' handler can still collect it.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SVP_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
