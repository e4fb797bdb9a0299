/** Child process of lock.test.ts: tries to open a locked data dir and prints what happened. */
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { config, silent } from './helpers.js';

try {
  const m = await LogManager.open({ dir: process.argv[2]!, config: config(), logger: silent });
  process.stdout.write('opened\n');
  await m.close();
} catch (err) {
  process.stdout.write(`${(err as Error).name}: ${(err as Error).message}\n`);
}
