// A replica that led an epoch and wrote nothing in it has that epoch's start at its log end.
// When it follows again and the new leader, which never saw that epoch, has it truncate at
// its log end, the epoch must go: otherwise it names the epoch again on every fetch and is
// told to truncate again, and never replicates (Kafka truncates the epoch cache here too).
import t from 'tap';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent, tmpDir } from './helpers.js';

t.test('truncating at the log end drops an epoch that was started there and never written', async (t) => {
  const m = await LogManager.open({ dir: tmpDir(t), config: config({}), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('t', 0);
  for (let i = 0; i < 3; i++) await m.append(log, batch(2, 100, Date.now()), { acks: -1, leaderEpoch: 1 });
  log.startLeaderEpoch(2);
  t.same(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 6 }], 'leading epoch 2 starts it at the log end');
  await log.truncateTo(6);
  t.equal(log.logEndOffset, 6, 'no record is cut');
  t.same(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }], 'the unwritten epoch is gone');
  t.equal(log.leaderEpochCache.latestEpoch(), 1, 'its next fetch names epoch 1, which the new leader knows');
});
