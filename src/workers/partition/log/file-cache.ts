/**
 * The open descriptors of one partition worker's log files: a bounded cache, least recently
 * used out. A broker may hold far more segment files than the process may keep open (every
 * partition has a .log, .index and .timeindex), so a file is opened when an operation needs
 * it and closed when the cache needs its descriptor for another.
 *
 * - A hit costs no syscall: the file object holds its fd. Each operation pins its file while
 *   it runs (a read of several steps pins it across them); only unpinned files, kept in an
 *   intrusive list oldest first, can be evicted.
 * - No write depends on a descriptor staying open: a file written or truncated since its last
 *   fdatasync is fdatasynced before it is closed (an eviction flush), and `fdatasync` of a
 *   file with nothing unsynced answers with the last sync, in flight or done. The group commit
 *   therefore syncs every file it wrote to, whether or not it is still open, and a failed
 *   eviction flush fails the round that covers those writes.
 * - Over budget with nothing evictable, an operation waits (first come, first served) for a
 *   descriptor to come back. Waiting operations hold none, and pinned files are pinned by
 *   operations that need no other descriptor to finish, so the waits always drain: a fsync
 *   round or a fetch over more files than the budget runs in waves instead of failing.
 * - EMFILE or ENFILE from open (the rest of the process took the descriptors): an operation on
 *   a file already in use (a hosted partition's) closes the least recently used idle file and
 *   tries again; still refused, it waits for a descriptor to come back (or retries after a
 *   moment), and fails only when this cache holds none. Once closing a file did not help (the
 *   limit is below what the process holds), no more are closed until an open succeeds. A new
 *   file (`createSync`, or one opened under `borrow`) takes no descriptor from open files: it
 *   fails, so new partitions are refused rather than starving the hosted ones.
 * - Synchronous callers (a segment roll, ListOffsets by timestamp) cannot wait: they evict an
 *   idle file if there is one and otherwise go over budget by the file they open; the next
 *   asynchronous open evicts back under it.
 * - `borrow` lends descriptors for files opened and closed outside the cache (producer
 *   snapshots, checkpoints), so those count against the same budget. A shutdown first closes
 *   every idle file (`closeIdle`), which leaves its snapshots and checkpoints the descriptors.
 */
import fs from 'node:fs';
import type { FileIo } from './file-io.js';

const OPEN_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;
const CREATE_FLAGS = OPEN_FLAGS | fs.constants.O_TRUNC;
/** Unsynced files one eviction may start flushing before it waits for them. */
const FLUSHES_PER_EVICTION = 8;
/** An operation refused a descriptor tries again after this long if none came back meanwhile. */
const EXHAUSTED_RETRY_MS = 100;
const DONE: Promise<void> = Promise.resolve();

/** The process, or the system, has no descriptor left. */
export function isDescriptorExhaustion(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** Descriptors lent for files opened outside the cache. */
export interface DescriptorSlots {
  /** Runs `fn` once `n` descriptors are free for it (they count as used until it settles). */
  borrow<T>(n: number, fn: () => Promise<T>): Promise<T>;
}

export class CachedFile {
  /** -1 while closed. */
  fd = -1;
  pins = 0;
  /**
   * A write or truncation completed since the last fdatasync started. Set on completion: a
   * write still in flight when a sync starts may not be covered by it.
   */
  unsynced = false;
  /** The last fdatasync started; it answers for every write before it. */
  lastSync: Promise<void> = DONE;
  /** An fdatasync failed: the file's unsynced writes are not durable, and never will be. */
  syncError: unknown = undefined;
  /** An eviction flush runs; the file closes after it unless pinned or written meanwhile. */
  flushing = false;
  /** Deleted or closed for good: never opened again, closed once unpinned. */
  removed = false;
  /** Links of the idle list (open and unpinned files, least recently used first). */
  idle = false;
  older: CachedFile | null = null;
  newer: CachedFile | null = null;

  constructor(readonly path: string) {}
}

export class FileCache implements DescriptorSlots {
  /** Descriptors held: open files (idle, pinned or flushing) and borrowed ones. */
  private held = 0;
  private oldest: CachedFile | null = null;
  private newest: CachedFile | null = null;
  private readonly waiters: Array<() => void> = [];
  /** Files opened so far (cache misses). */
  opens = 0;
  /** Files closed to make room. */
  evictions = 0;
  /** Closing an idle file did not get an open past EMFILE/ENFILE (reset by the next open). */
  private closingDoesNotHelp = false;

  constructor(
    private readonly io: FileIo,
    /** Descriptors this cache may hold (pinned files and synchronous opens may briefly pass it). */
    readonly budget: number,
  ) {}

  /** Descriptors held now. */
  get openDescriptors(): number {
    return this.held;
  }

  file(path: string): CachedFile {
    return new CachedFile(path);
  }

  /**
   * A file created empty (truncated if it existed): left open as the most recently used file
   * when `keepOpen`, else closed at once. Its directory entry is not synced here. `inUse`: the
   * file belongs to a hosted partition (a segment roll), so it may close an idle file to get
   * past EMFILE; a new partition's files may not.
   */
  createSync(path: string, keepOpen: boolean, inUse: boolean): CachedFile {
    const f = new CachedFile(path);
    this.makeRoomSync();
    const fd = inUse ? this.openInUse(path, CREATE_FLAGS) : this.io.openSync(path, CREATE_FLAGS);
    this.opens++;
    if (!keepOpen) {
      fs.closeSync(fd);
      return f;
    }
    f.fd = fd;
    this.held++;
    this.linkNewest(f);
    return f;
  }

  /** Keeps the file's descriptor, once opened, until `unpin`. */
  pin(f: CachedFile): void {
    if (f.idle) this.unlink(f);
    f.pins++;
  }

  unpin(f: CachedFile): void {
    if (--f.pins > 0 || f.fd < 0 || f.flushing) return;
    if (f.removed) this.closeNow(f);
    else {
      this.linkNewest(f);
      if (this.waiters.length) this.wake();
    }
  }

  writev(f: CachedFile, buffers: Buffer[], position: number): Promise<void> {
    return this.withFd(f, (fd) => this.io.writev(fd, buffers, position).finally(() => (f.unsynced = true)));
  }

  read(f: CachedFile, length: number, position: number): Promise<Buffer> {
    return this.withFd(f, (fd) => this.io.read(fd, length, position));
  }

  truncate(f: CachedFile, size: number): Promise<void> {
    return this.withFd(f, (fd) => this.io.ftruncate(fd, size).finally(() => (f.unsynced = true)));
  }

  /** Blocking positional read (for the rare synchronous paths). */
  readSync(f: CachedFile, buf: Buffer, length: number, position: number): number {
    this.pin(f);
    try {
      if (f.fd < 0) this.openSync(f);
      return fs.readSync(f.fd, buf, 0, length, position);
    } finally {
      this.unpin(f);
    }
  }

  /** Makes every write so far durable; free when there is nothing unsynced (or the file was deleted). */
  fdatasync(f: CachedFile): Promise<void> {
    if (f.syncError !== undefined) return Promise.reject(f.syncError);
    if (!f.unsynced || f.removed) return f.lastSync;
    f.unsynced = false;
    const done = this.withFd(f, (fd) => this.io.fdatasync(fd));
    done.catch((err: unknown) => (f.syncError = err));
    f.lastSync = done;
    return done;
  }

  /** Makes the names of the files created in `dir` so far durable. */
  syncDir(dir: string): Promise<void> {
    return this.borrow(1, () => this.io.syncDir(dir));
  }

  /** The next `fdatasync` must reach the disk even though this cache wrote nothing. */
  assumeUnsynced(f: CachedFile): void {
    f.unsynced = true;
  }

  /** Closes the file now if it is open, idle and synced (index files between checkpoints). */
  closeIfIdle(f: CachedFile): void {
    if (f.idle && !f.unsynced) this.closeNow(f);
  }

  /** The file was deleted: nothing of it needs syncing; the fd closes once unpinned. */
  discard(f: CachedFile): void {
    f.removed = true;
    f.unsynced = false;
    if (f.fd >= 0 && f.pins === 0 && !f.flushing) this.closeNow(f);
  }

  /** Syncs what was written and closes the file for good. */
  async retire(f: CachedFile): Promise<void> {
    try {
      await this.fdatasync(f);
    } finally {
      this.discard(f);
    }
  }

  /** Opens a file that users pinned before it is unlinked, so they keep reading it. */
  async holdForPinned(f: CachedFile): Promise<void> {
    if (f.pins === 0 || f.fd >= 0) return;
    this.pin(f);
    try {
      await this.openAsync(f);
    } finally {
      this.unpin(f);
    }
  }

  async borrow<T>(n: number, fn: () => Promise<T>): Promise<T> {
    while (!this.makeRoom(n)) await this.waitTurn();
    this.held += n;
    try {
      return await fn();
    } finally {
      this.held -= n;
      if (this.waiters.length) this.wake();
    }
  }

  private async withFd<T>(f: CachedFile, op: (fd: number) => Promise<T>): Promise<T> {
    this.pin(f);
    try {
      return await op(f.fd >= 0 ? f.fd : await this.openAsync(f));
    } finally {
      this.unpin(f);
    }
  }

  private async openAsync(f: CachedFile): Promise<number> {
    for (;;) {
      if (f.fd >= 0) return f.fd;
      let exhausted = false;
      if (this.makeRoom(1)) {
        try {
          return this.openNow(f);
        } catch (err) {
          if (!isDescriptorExhaustion(err) || this.held === 0) throw err;
          exhausted = true;
        }
      }
      await this.waitTurn(exhausted ? EXHAUSTED_RETRY_MS : undefined);
    }
  }

  private openSync(f: CachedFile): void {
    this.makeRoomSync();
    this.openNow(f);
  }

  private openNow(f: CachedFile): number {
    if (f.removed) throw Object.assign(new Error(`${f.path} was closed for good`), { code: 'EBADF' });
    f.fd = this.openInUse(f.path, OPEN_FLAGS);
    this.held++;
    this.opens++;
    return f.fd;
  }

  /** Opens a file in use, closing one idle file to get past EMFILE/ENFILE while that helps. */
  private openInUse(path: string, flags: number): number {
    let fd: number;
    try {
      fd = this.io.openSync(path, flags);
    } catch (err) {
      if (!isDescriptorExhaustion(err) || this.closingDoesNotHelp || !this.closeOldestIdle()) throw err;
      try {
        fd = this.io.openSync(path, flags);
      } catch (again) {
        if (isDescriptorExhaustion(again)) this.closingDoesNotHelp = true;
        throw again;
      }
    }
    this.closingDoesNotHelp = false;
    return fd;
  }

  /** Frees descriptors until `n` more fit the budget; false when that has to wait. */
  private makeRoom(n: number): boolean {
    let flushes = 0;
    while (this.held + n > this.budget && this.oldest && flushes < FLUSHES_PER_EVICTION) {
      const victim = this.oldest;
      this.unlink(victim);
      this.evictions++;
      if (victim.unsynced) {
        this.flushAndClose(victim);
        flushes++;
      } else {
        this.closeNow(victim);
      }
    }
    return this.held + n <= this.budget;
  }

  /** One clean idle file closed if over budget; otherwise the caller goes over. */
  private makeRoomSync(): void {
    for (let f = this.oldest; f && this.held >= this.budget; f = f.newer) {
      if (f.unsynced) continue;
      this.evictions++;
      this.closeNow(f);
      return;
    }
  }

  private flushAndClose(f: CachedFile): void {
    f.flushing = true;
    f.unsynced = false;
    const done = this.io.fdatasync(f.fd);
    f.lastSync = done;
    done.then(
      () => this.flushed(f),
      (err: unknown) => {
        f.syncError = err;
        this.flushed(f);
      },
    );
  }

  private flushed(f: CachedFile): void {
    f.flushing = false;
    if (f.pins > 0) return;
    if (f.unsynced && !f.removed) this.linkNewest(f);
    else this.closeNow(f);
    if (this.waiters.length) this.wake();
  }

  /** Closes the least recently used idle file with nothing unsynced; false if there is none. */
  private closeOldestIdle(): boolean {
    for (let f = this.oldest; f; f = f.newer) {
      if (f.unsynced) continue;
      this.evictions++;
      this.closeNow(f);
      return true;
    }
    return false;
  }

  /** Closes every idle file (flushing the unsynced ones first), e.g. before a shutdown's many writes. */
  closeIdle(): void {
    while (this.oldest) {
      const f = this.oldest;
      this.unlink(f);
      if (f.unsynced) this.flushAndClose(f);
      else this.closeNow(f);
    }
  }

  private closeNow(f: CachedFile): void {
    if (f.idle) this.unlink(f);
    if (f.fd < 0) return;
    const fd = f.fd;
    f.fd = -1;
    this.held--;
    fs.closeSync(fd);
    if (this.waiters.length) this.wake();
  }

  /** Resolves when a descriptor may be free, or after `retryMs` at the latest. */
  private waitTurn(retryMs?: number): Promise<void> {
    return new Promise((resolve) => {
      if (retryMs === undefined) {
        this.waiters.push(resolve);
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, retryMs);
      this.waiters.push(done);
    });
  }

  /** Lets the first waiter try again (it waits again, last, if another took the room). */
  private wake(): void {
    if (this.held < this.budget || this.oldest) this.waiters.shift()!();
  }

  private linkNewest(f: CachedFile): void {
    f.idle = true;
    f.older = this.newest;
    f.newer = null;
    if (this.newest) this.newest.newer = f;
    else this.oldest = f;
    this.newest = f;
  }

  private unlink(f: CachedFile): void {
    f.idle = false;
    if (f.older) f.older.newer = f.newer;
    else this.oldest = f.newer;
    if (f.newer) f.newer.older = f.older;
    else this.newest = f.older;
    f.older = f.newer = null;
  }
}
