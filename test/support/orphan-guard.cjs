'use strict';
// Preloaded into every process a test spawns (NODE_OPTIONS=--require, see processes.ts): the
// process kills itself once the test process that spawned it is gone, so a jest worker that
// crashed, timed out or was killed leaves no API or worker behind. Test support, never in src/.
const parent = Number(process.env.CX_TEST_PARENT_PID);
if (Number.isInteger(parent) && parent > 1) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch (error) {
      if (error && error.code === 'ESRCH') process.kill(process.pid, 'SIGKILL');
    }
  }, 500).unref();
}
