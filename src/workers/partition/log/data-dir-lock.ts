/**
 * Exclusive lock on a data dir, so two brokers never share one: `flock(LOCK_EX | LOCK_NB)` on
 * `<dir>/.lock` through the optional fs-ext addon (the kernel drops the lock when the holder
 * dies, however it dies). Without fs-ext, an O_EXCL-created `.lock` holding the owner's pid;
 * a file whose pid is no longer running is stale and taken over. The pid is written in both
 * modes so that either can name the holder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../shared/logger.js';

export const LOCK_FILE = '.lock';

export class DataDirLockedError extends Error {
  constructor(readonly dir: string, holderPid?: number) {
    super(
      `data dir ${dir} is locked: another broker holds it` +
        (holderPid ? ` (pid ${holderPid})` : '') +
        '; stop that broker or point log.dirs elsewhere',
    );
    this.name = 'DataDirLockedError';
  }
}

interface FsExt {
  flockSync(fd: number, flags: number): void;
  constants: { LOCK_EX: number; LOCK_NB: number; LOCK_UN: number };
}

async function loadFsExt(): Promise<FsExt | undefined> {
  const name = 'fs-ext';
  try {
    const mod = (await import(name)) as { default?: FsExt } & Partial<FsExt>;
    const api = mod.default ?? (mod as FsExt);
    return typeof api.flockSync === 'function' ? api : undefined;
  } catch {
    return undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly fd: number,
    private readonly fsExt: FsExt | undefined,
  ) {}

  /** Takes the lock or throws DataDirLockedError at once. `useFlock: false` forces the pid file. */
  static async acquire(dir: string, logger: Logger, opts: { useFlock?: boolean } = {}): Promise<DataDirLock> {
    const file = path.join(dir, LOCK_FILE);
    const fsExt = opts.useFlock === false ? undefined : await loadFsExt();
    if (fsExt) {
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      try {
        fsExt.flockSync(fd, fsExt.constants.LOCK_EX | fsExt.constants.LOCK_NB);
      } catch (err) {
        fs.closeSync(fd);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EWOULDBLOCK' || code === 'EAGAIN') throw new DataDirLockedError(dir, readPid(file));
        throw err;
      }
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${process.pid}\n`, 0);
      return new DataDirLock(file, fd, fsExt);
    }
    logger.warn({ dir }, 'fs-ext is not available: locking the data dir with a pid file instead of flock');
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
        fs.writeSync(fd, `${process.pid}\n`, 0);
        fs.fsyncSync(fd);
        return new DataDirLock(file, fd, undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readPid(file);
        if (attempt > 0 || (holder !== undefined && (holder === process.pid || isRunning(holder)))) {
          throw new DataDirLockedError(dir, holder);
        }
        logger.warn({ dir, stalePid: holder }, 'removing a stale data dir lock');
        fs.rmSync(file, { force: true });
      }
    }
  }

  release(): void {
    if (this.fsExt) {
      this.fsExt.flockSync(this.fd, this.fsExt.constants.LOCK_UN);
      fs.closeSync(this.fd);
    } else {
      fs.closeSync(this.fd);
      fs.rmSync(this.file, { force: true });
    }
  }
}
