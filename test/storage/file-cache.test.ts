import fs from 'node:fs';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { FileCache } from '../../src/workers/partition/log/file-cache.js';
import { nodeFileIo, type FileIo } from '../../src/workers/partition/log/file-io.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';

const LOGS = 300;
const BUDGET = 8;

/** Real I/O that records, per file, whether bytes were written since its last fdatasync. */
function recordingIo(): { io: FileIo; unsynced: Set<string>; syncs: () => number } {
  const unsynced = new Set<string>();
  let syncs = 0;
  const name = (fd: number): string => fs.readlinkSync(`/proc/self/fd/${fd}`);
  return {
    unsynced,
    syncs: () => syncs,
    io: {
      ...nodeFileIo,
      writev: (fd, bufs, pos) => {
        unsynced.add(name(fd));
        return nodeFileIo.writev(fd, bufs, pos);
      },
      fdatasync: (fd) => {
        const file = name(fd);
        return nodeFileIo.fdatasync(fd).then(() => {
          syncs++;
          unsynced.delete(file);
        });
      },
      read: (fd, len, pos) => nodeFileIo.read(fd, len, pos),
    },
  };
}

t.test(`${LOGS} logs through a cache of ${BUDGET} descriptors: every acknowledged write fsynced, every read whole`, async (t) => {
  const dir = tmpDir(t, 'cache');
  const rec = recordingIo();
  const m = await LogManager.open({ dir, config: config(), logger: silent, io: rec.io, maxOpenFiles: BUDGET });
  const logs = await Promise.all(Array.from({ length: LOGS }, (_, i) => m.create('many', i)));
  let most = 0;
  const sampler = setInterval(() => (most = Math.max(most, m.files.openDescriptors)), 1);
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all(logs.map((l, i) => m.append(l, batch(2, 100, Date.now(), round * LOGS + i), { acks: -1, leaderEpoch: 0 })));
    t.equal(results.filter((r) => r.errorCode !== ErrorCode.NONE).length, 0, `round ${round}: ${LOGS} appends acknowledged`);
    const logFiles = [...rec.unsynced].filter((f) => f.endsWith('.log'));
    t.same(logFiles, [], `round ${round}: no log file holds a write that no fdatasync covered`);
    most = Math.max(most, m.files.openDescriptors);
  }
  const reads = await Promise.all(logs.map((l) => m.read(l, 0, 1 << 20)));
  clearInterval(sampler);
  t.equal(reads.filter((r) => r.errorCode !== ErrorCode.NONE || splitBatches(r.records).length !== 3).length, 0, 'every log reads back its three batches');
  t.ok(m.files.evictions > LOGS, `files were closed to stay in budget (${m.files.evictions} evictions, ${m.files.opens} opens)`);
  t.ok(most <= BUDGET + 1, `at most ${most} descriptors held (budget ${BUDGET}, one more for a roll)`);
  await m.close();

  const again = await LogManager.open({ dir, config: config(), logger: silent, maxOpenFiles: BUDGET });
  const back = await Promise.all(Array.from({ length: LOGS }, (_, i) => again.read(again.get('many', i)!, 0, 1 << 20)));
  t.equal(back.filter((r) => splitBatches(r.records).length !== 3).length, 0, 'everything is back after a reopen');
  t.ok(again.files.openDescriptors <= BUDGET, 'loading stays in budget too');
  await again.close();
});

t.test('a write that completes while a sync runs is covered by the next sync', async (t) => {
  const dir = tmpDir(t, 'cache-race');
  let finishWrite: (() => void) | undefined;
  let holdWrites = false;
  let syncs = 0;
  const io: FileIo = {
    ...nodeFileIo,
    writev: (fd, bufs, pos) => {
      if (!holdWrites) return nodeFileIo.writev(fd, bufs, pos);
      return new Promise((resolve, reject) => {
        finishWrite = () => nodeFileIo.writev(fd, bufs, pos).then(resolve, reject);
      });
    },
    fdatasync: (fd) => {
      syncs++;
      return nodeFileIo.fdatasync(fd);
    },
    read: (fd, len, pos) => nodeFileIo.read(fd, len, pos),
  };
  const cache = new FileCache(io, 4);
  const f = cache.file(`${dir}/f`);
  await cache.writev(f, [Buffer.from('first')], 0);
  holdWrites = true;
  const write = cache.writev(f, [Buffer.from('second')], 5);
  await cache.fdatasync(f);
  t.equal(syncs, 1, 'the first write is synced');
  finishWrite!();
  await write;
  await cache.fdatasync(f);
  t.equal(syncs, 2, 'the write that was in flight gets a sync of its own');
  await cache.fdatasync(f);
  t.equal(syncs, 2, 'a sync with nothing new written costs nothing');
  await cache.retire(f);
});
