// A broker whose log dir would have to be created on a read-only file system says so at start
// (EROFS), instead of reporting a missing directory. mount needs root: the file skips itself
// otherwise, and the test skips itself when the mount fails.
import t from 'tap';
import path from 'node:path';
import { startBroker } from '../helpers/broker.js';
import { mountTmpfs } from './helpers.js';

if (process.getuid?.() !== 0) {
  t.plan(1);
  t.pass('not root: skipping the read-only tmpfs test (mount needs root)');
} else {
  t.test('a log dir under a read-only file system is reported as read-only at start', async (t) => {
    const mount = mountTmpfs(t, 'ro,size=1m');
    if ('error' in mount) {
      t.pass(`mount -t tmpfs -o ro failed (${mount.error}): skipping`);
      return;
    }
    const broker = await startBroker({ dataDir: path.join(mount.dir, 'kafka', 'data'), wait: false });
    t.teardown(() => broker.kill());
    const code = await new Promise<number | null>((resolve) => {
      if (broker.proc.exitCode !== null) resolve(broker.proc.exitCode);
      else broker.proc.once('exit', (c) => resolve(c));
    });
    t.equal(code, 1, 'the broker does not start');
    t.match(broker.output(), /EROFS: read-only file system, mkdir '[^']*kafka'/, 'and says the file system is read-only');
  });
}
