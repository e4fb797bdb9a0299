/**
 * The file operations on the append and sync paths, behind an interface so that tests can
 * make one log's disk fail (ENOSPC, EIO) while the others keep working. Callbacks on raw fds
 * rather than FileHandle: the hot path pays for neither handle objects nor their finalizers.
 */
import fs from 'node:fs';

export interface FileIo {
  /** Writes all of `buffers` at `position`; a short write rejects. */
  writev(fd: number, buffers: Buffer[], position: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  /** Reads up to `length` bytes at `position`; resolves with the bytes actually read. */
  read(fd: number, length: number, position: number): Promise<Buffer>;
}

function shortWrite(expected: number, written: number): Error {
  return Object.assign(new Error(`short write: ${written} of ${expected} bytes`), { code: 'ENOSPC' });
}

export const nodeFileIo: FileIo = {
  writev(fd, buffers, position) {
    let expected = 0;
    for (const b of buffers) expected += b.length;
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
  read(fd, length, position) {
    const buf = Buffer.allocUnsafe(length);
    return new Promise((resolve, reject) => {
      fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n === length ? buf : buf.subarray(0, n))));
    });
  },
};
