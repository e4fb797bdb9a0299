/**
 * The file operations of the log files (segments and their indexes), behind an interface so
 * that tests can make one log's disk fail (ENOSPC, EIO) while the others keep working, or
 * model a power loss: every change to a file between its last fdatasync and the crash lost, a
 * file created since its directory was last synced gone. Callbacks on raw fds rather than
 * FileHandle: the hot path pays for neither handle objects nor their finalizers.
 */
import fs from 'node:fs';
import { syncDir } from './checkpoint-file.js';

export interface FileIo {
  /** Opens `path` with `flags` (O_CREAT, O_TRUNC as given); synchronous, as a segment roll is. */
  openSync(path: string, flags: number): number;
  /** Writes all of `buffers` at `position`; a short write rejects. */
  writev(fd: number, buffers: Buffer[], position: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  /** Sets the file's size; durable, like a write, once an fdatasync covers it. */
  ftruncate(fd: number, size: number): Promise<void>;
  /** Makes the directory's entries durable: the names of files created in it since. */
  syncDir(dir: string): Promise<void>;
  /** Reads up to `length` bytes at `position`; resolves with the bytes actually read. */
  read(fd: number, length: number, position: number): Promise<Buffer>;
}

/**
 * Writes up to this size are made on the calling thread: copying them into the page cache
 * takes less time than the thread-pool round trip of an asynchronous write (two thread
 * wake-ups, ~70 us together on a 2-core VM against ~10 us for the copy of a few KiB).
 */
const INLINE_WRITE_BYTES = 64 * 1024;

function shortWrite(expected: number, written: number): Error {
  return Object.assign(new Error(`short write: ${written} of ${expected} bytes`), { code: 'ENOSPC' });
}

export const nodeFileIo: FileIo = {
  openSync(path, flags) {
    return fs.openSync(path, flags);
  },
  writev(fd, buffers, position) {
    let expected = 0;
    for (const b of buffers) expected += b.length;
    if (expected <= INLINE_WRITE_BYTES) {
      try {
        const written = fs.writevSync(fd, buffers, position);
        return written === expected ? Promise.resolve() : Promise.reject(shortWrite(expected, written));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      fs.writev(fd, buffers, position, (err, written) => {
        if (err) reject(err);
        else if (written !== expected) reject(shortWrite(expected, written));
        else resolve();
      });
    });
  },
  fdatasync(fd) {
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  },
  ftruncate(fd, size) {
    return new Promise((resolve, reject) => fs.ftruncate(fd, size, (err) => (err ? reject(err) : resolve())));
  },
  syncDir,
  read(fd, length, position) {
    const buf = Buffer.allocUnsafe(length);
    return new Promise((resolve, reject) => {
      fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n === length ? buf : buf.subarray(0, n))));
    });
  },
};
