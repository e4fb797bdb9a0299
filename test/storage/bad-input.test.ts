import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { resealBatch } from '../../src/shared/record-batch.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent, tmpDir } from './helpers.js';

t.test('bad batches are refused with the right error and nothing is written', async (t) => {
  const dir = tmpDir(t, 'bad');
  const m = await LogManager.open({ dir, config: config({ maxMessageBytes: 64 * 1024 }), logger: silent });
  const log = await m.create('b', 0);
  await m.append(log, batch(2, 100), { acks: -1, leaderEpoch: 0 });
  const file = path.join(dir, 'b-0', '00000000000000000000.log');
  const sizeBefore = fs.statSync(file).size;

  const badCrc = batch(3, 100);
  badCrc[badCrc.length - 1] ^= 0xff;
  const truncated = batch(3, 100).subarray(0, 150);
  const badCount = batch(3, 100);
  badCount.writeInt32BE(4, 57);
  resealBatch(badCount, 0);
  const badDeltas = batch(3, 100);
  badDeltas.writeInt32BE(5, 23);
  resealBatch(badDeltas, 0);
  const v1 = batch(1, 10);
  v1.writeInt8(1, 16);
  const huge = batch(1, 70 * 1024);
  const cases: Array<[string, Buffer, number]> = [
    ['corrupt CRC', badCrc, ErrorCode.CORRUPT_MESSAGE],
    ['truncated batch', truncated, ErrorCode.CORRUPT_MESSAGE],
    ['record count larger than the records', badCount, ErrorCode.INVALID_RECORD],
    ['lastOffsetDelta disagreeing with the count', badDeltas, ErrorCode.INVALID_RECORD],
    ['magic 1', v1, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT],
    ['a good batch followed by a corrupt one', Buffer.concat([batch(2, 10), badCrc]), ErrorCode.CORRUPT_MESSAGE],
    ['empty payload', Buffer.alloc(0), ErrorCode.CORRUPT_MESSAGE],
    ['larger than message.max.bytes', huge, ErrorCode.MESSAGE_TOO_LARGE],
  ];
  for (const [name, bytes, code] of cases) {
    const r = await m.append(log, bytes, { acks: -1, leaderEpoch: 0 });
    t.equal(r.errorCode, code, name);
    t.equal(log.logEndOffset, 2, `${name}: no offset assigned`);
  }
  await m.flushAll();
  t.equal(fs.statSync(file).size, sizeBefore, 'no byte written');
  const ok = await m.append(log, batch(1, 10), { acks: -1, leaderEpoch: 0 });
  t.same([ok.errorCode, ok.baseOffset], [ErrorCode.NONE, 2], 'the log still takes good batches');
  await m.close();
});
