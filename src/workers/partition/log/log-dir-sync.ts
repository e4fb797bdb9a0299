/**
 * fsyncs of a log dir after partition dirs are made in it, shared: creations that overlap
 * share one fsync of the dir.
 */
import { syncDir } from './checkpoint-file.js';
import type { FileCache } from './file-cache.js';

export class LogDirSync {
  private dirSync: Promise<void> | undefined;
  private nextDirSync: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly files: FileCache,
  ) {}

  /**
   * Makes the partition dirs made so far durable. Creations that overlap share one fsync of
   * the log dir: one that arrives while a sync runs waits for the next, which starts when that
   * one ends and covers every creation that arrived meanwhile.
   */
  syncLogDir(): Promise<void> {
    if (this.nextDirSync) return this.nextDirSync;
    const start = (): Promise<void> => {
      const sync = this.files.borrow(1, () => syncDir(this.dir)).finally(() => {
        if (this.dirSync === sync) this.dirSync = undefined;
      });
      this.dirSync = sync;
      return sync;
    };
    if (!this.dirSync) return start();
    this.nextDirSync = this.dirSync
      .catch(() => undefined)
      .then(() => {
        this.nextDirSync = undefined;
        return start();
      });
    return this.nextDirSync;
  }
}
