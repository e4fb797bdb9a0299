/**
 * A broker's data dir as a whole: the lock that keeps a second broker out of it
 * (data-dir-lock.ts) and the clean-shutdown marker. The marker is read and removed when the
 * dir is opened (it speaks only for the shutdown that wrote it, so it is gone before anything
 * is written) and written again by a clean close, after every log's data was synced: its
 * presence lets the next start skip checking the logs' tails. The per-log checkpoints
 * (recovery points, log start offsets, high watermarks) are the log manager's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createDir } from '../../../shared/create-dir.js';
import type { Logger } from '../../../shared/logger.js';
import { syncDir } from './checkpoint-file.js';
import { DataDirLock } from './data-dir-lock.js';

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

export class DataDir {
  private constructor(
    readonly path: string,
    private readonly lock: DataDirLock,
    /** The previous process closed every log cleanly. */
    readonly cleanShutdown: boolean,
  ) {}

  /** Creates the dir if needed, locks it and takes its clean-shutdown marker. */
  static async open(dir: string, logger: Logger, opts: { useFlock?: boolean } = {}): Promise<DataDir> {
    const resolved = path.resolve(dir);
    await createDir(resolved);
    const lock = await DataDirLock.acquire(resolved, logger, opts);
    try {
      const marker = path.join(resolved, CLEAN_SHUTDOWN_FILE);
      const clean = await fs.access(marker).then(() => true, () => false);
      await fs.rm(marker, { force: true });
      await syncDir(resolved);
      return new DataDir(resolved, lock, clean);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Unlocks the dir; `clean`: every log's data is synced and closed, so the marker is written first. */
  async close(clean: boolean): Promise<void> {
    try {
      if (clean) {
        await fs.writeFile(path.join(this.path, CLEAN_SHUTDOWN_FILE), '');
        await syncDir(this.path);
      }
    } finally {
      this.lock.release();
    }
  }
}
