import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DataDirLock, DataDirLockedError } from '../../src/workers/partition/log/data-dir-lock.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { config, silent, tmpDir } from './helpers.js';

t.test('a second opener of a data dir fails at once with a clear message', async (t) => {
  const dir = tmpDir(t, 'lock');
  const m = await LogManager.open({ dir, config: config(), logger: silent });
  await t.rejects(LogManager.open({ dir, config: config(), logger: silent }), {
    name: 'DataDirLockedError',
    message: new RegExp(`data dir ${dir} is locked: another broker holds it`),
  });
  const out = execFileSync(process.execPath, [...process.execArgv, path.join(import.meta.dirname, 'lock-child.ts'), dir], {
    encoding: 'utf8',
  });
  t.match(out, `DataDirLockedError: data dir ${dir} is locked: another broker holds it (pid ${process.pid})`, 'a second process is refused too');
  await m.close();
  const again = await LogManager.open({ dir, config: config(), logger: silent });
  t.pass('the dir opens again once released');
  await again.close();
});

t.test('without flock: an O_EXCL pid file, stale pids taken over, one warning', async (t) => {
  const dir = tmpDir(t, 'pidlock');
  const warnings: string[] = [];
  const logger = Object.assign(Object.create(silent) as typeof silent, { warn: (_o: unknown, msg: string) => warnings.push(msg) });
  const lock = await DataDirLock.acquire(dir, logger, { useFlock: false });
  t.match(warnings, [/fs-ext is not available/]);
  await t.rejects(DataDirLock.acquire(dir, logger, { useFlock: false }), DataDirLockedError);
  lock.release();
  t.notOk(fs.existsSync(path.join(dir, '.lock')), 'pid file removed on release');
  fs.writeFileSync(path.join(dir, '.lock'), '999999999\n');
  const taken = await DataDirLock.acquire(dir, logger, { useFlock: false });
  t.match(warnings, [/fs-ext/, /fs-ext/, /fs-ext/, /stale/], 'stale lock of a dead pid taken over');
  taken.release();
});
