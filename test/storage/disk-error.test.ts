import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { nodeFileIo, type FileIo } from '../../src/workers/partition/log/file-io.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent, tmpDir } from './helpers.js';

/** Real I/O, except that the files in `failing` (by path) answer writes or fsyncs with the given errno. */
function faultyIo(failing: Map<string, { op: 'write' | 'sync'; code: string }>): FileIo {
  const fault = (fd: number, op: 'write' | 'sync'): Error | undefined => {
    const f = failing.size ? failing.get(fs.readlinkSync(`/proc/self/fd/${fd}`)) : undefined;
    return f && f.op === op ? Object.assign(new Error(`${f.code}: injected`), { code: f.code }) : undefined;
  };
  return {
    writev: (fd, bufs, pos) => {
      const err = fault(fd, 'write');
      return err ? Promise.reject(err) : nodeFileIo.writev(fd, bufs, pos);
    },
    fdatasync: (fd) => {
      const err = fault(fd, 'sync');
      return err ? Promise.reject(err) : nodeFileIo.fdatasync(fd);
    },
    read: (fd, len, pos) => nodeFileIo.read(fd, len, pos),
  };
}

for (const [op, code] of [['write', 'ENOSPC'], ['sync', 'EIO']] as const) {
  t.test(`a failing ${op} (${code}) takes only its log offline`, async (t) => {
    const dir = tmpDir(t, 'diskerr');
    const failing = new Map<string, { op: 'write' | 'sync'; code: string }>();
    const m = await LogManager.open({ dir, config: config(), logger: silent, io: faultyIo(failing) });
    const bad = await m.create('bad', 0);
    const good = await m.create('good', 0);
    t.equal((await m.append(bad, batch(1, 10), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.NONE);
    failing.set(path.join(fs.realpathSync(bad.dir), '00000000000000000000.log'), { op, code });
    const results = await Promise.all([
      m.append(bad, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
      m.append(bad, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
      m.append(good, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
    ]);
    t.same(results.map((r) => r.errorCode), [ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NONE]);
    t.ok(bad.offline, 'the failing log is offline');
    t.equal((await m.append(bad, batch(1, 10), { acks: 1, leaderEpoch: 0 })).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'later appends refused');
    t.equal((await m.read(bad, 0, 1000)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'reads refused');
    for (let i = 0; i < 20; i++) {
      t.equal((await m.append(good, batch(1, 10), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.NONE);
    }
    const r = await m.read(good, 0, 1 << 20);
    t.equal(r.errorCode, ErrorCode.NONE);
    t.equal(good.logEndOffset, 22, 'the other log keeps working');
    failing.clear();
    await m.close();
    const again = await LogManager.open({ dir, config: config(), logger: silent });
    t.ok(again.get('good', 0)!.logEndOffset === 22, 'the healthy log reopens whole');
    await again.close();
  });
}
