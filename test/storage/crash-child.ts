/**
 * Child process of crash.test.ts: appends with acks=-1 from several concurrent appenders
 * and prints `ack <baseOffset> <crc32c of the stored batch>` for each acknowledged append,
 * until the parent kills it.
 */
import { crc32c } from '../../src/shared/crc32c.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent } from './helpers.js';

const dir = process.argv[2]!;
const m = await LogManager.open({ dir, config: config({ segmentBytes: 256 * 1024, indexIntervalBytes: 1024 }), logger: silent });
const log = await m.create('crash', 0);
process.stdout.write('ready\n');
let n = 0;
async function appender(id: number): Promise<void> {
  for (;;) {
    const b = batch(1 + (n % 4), 100 + ((n * 37) % 900), Date.now(), id * 1_000_000 + n++);
    const r = await m.append(log, b, { acks: -1, leaderEpoch: 0 });
    if (r.errorCode !== 0) throw new Error(`append failed ${r.errorCode}`);
    process.stdout.write(`ack ${r.baseOffset} ${crc32c(b)}\n`);
  }
}
await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(appender));
