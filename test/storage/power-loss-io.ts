/**
 * A FileIo that can lose power, as Jepsen's LazyFS models a disk: what a file holds for good
 * is what it held when its last fdatasync started (or when this layer first saw it), and a
 * file created since its directory was last synced has no name for good. `losePower(into)`
 * copies the data dir as the disk holds it for good into a new dir, where the restarted log
 * opens: later writes dropped, truncations undone, files whose name was never made durable
 * gone. The old dir is left to the process that lost power: from then on every operation of
 * this layer fails with EIO without touching the disk, and whatever that process still does
 * outside it cannot reach the copy.
 *
 * Only the log files' operations pass here (segments and their indexes, through the file
 * cache). Checkpoints and producer snapshots are written outside it, each through a temp
 * file, fsynced and renamed; they are taken as durable once written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nodeFileIo, type FileIo } from '../../src/workers/partition/log/file-io.js';

function powerLost(): Error {
  return Object.assign(new Error('EIO: power lost'), { code: 'EIO' });
}

export class PowerLossIo implements FileIo {
  /** What each file this layer touched holds for good (its content at its last sync). */
  private readonly durable = new Map<string, Buffer>();
  /** Files created here whose directory was not synced since. */
  private readonly unnamed = new Set<string>();
  private readonly paths = new Map<number, string>();
  private lost = false;
  /** Operations done, to choose a moment for the power loss. */
  ops = 0;

  /** `root`: the data dir whose files this layer sees. */
  constructor(private readonly root: string) {}

  openSync(file: string, flags: number): number {
    if (this.lost) throw powerLost();
    const existed = fs.existsSync(file);
    if (existed) this.track(file);
    else if (flags & fs.constants.O_CREAT) {
      this.durable.set(file, Buffer.alloc(0));
      this.unnamed.add(file);
    }
    const fd = nodeFileIo.openSync(file, flags);
    this.paths.set(fd, file);
    this.ops++;
    return fd;
  }

  writev(fd: number, buffers: Buffer[], position: number): Promise<void> {
    if (this.lost) return Promise.reject(powerLost());
    this.track(this.pathOf(fd));
    this.ops++;
    return nodeFileIo.writev(fd, buffers, position);
  }

  ftruncate(fd: number, size: number): Promise<void> {
    if (this.lost) return Promise.reject(powerLost());
    this.track(this.pathOf(fd));
    this.ops++;
    return nodeFileIo.ftruncate(fd, size);
  }

  async fdatasync(fd: number): Promise<void> {
    if (this.lost) throw powerLost();
    const file = this.pathOf(fd);
    // What the file holds now is what this sync makes durable; writes after it are not covered.
    const content = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    this.ops++;
    await nodeFileIo.fdatasync(fd);
    if (this.lost) throw powerLost();
    if (content) this.durable.set(file, content);
  }

  async syncDir(dir: string): Promise<void> {
    if (this.lost) throw powerLost();
    const named = [...this.unnamed].filter((f) => path.dirname(f) === dir && fs.existsSync(f));
    this.ops++;
    await nodeFileIo.syncDir(dir);
    if (this.lost) throw powerLost();
    for (const f of named) this.unnamed.delete(f);
  }

  read(fd: number, length: number, position: number): Promise<Buffer> {
    if (this.lost) return Promise.reject(powerLost());
    return nodeFileIo.read(fd, length, position);
  }

  /** Cuts the power; `into` gets the data dir as the disk holds it for good. */
  losePower(into: string): { restored: number; vanished: number } {
    this.lost = true;
    // Producer snapshots and checkpoints are written outside this layer and may still be renaming
    // a temporary file while the copy walks the dir; a file gone between the listing and its read
    // means the copy starts over, on a listing taken after the rename.
    for (let attempt = 1; ; attempt++) {
      try {
        fs.cpSync(this.root, into, { recursive: true });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw err;
        fs.rmSync(into, { recursive: true, force: true });
      }
    }
    let restored = 0;
    let vanished = 0;
    for (const [file, content] of this.durable) {
      const copy = path.join(into, path.relative(this.root, file));
      if (!fs.existsSync(copy)) continue;
      if (this.unnamed.has(file)) {
        fs.rmSync(copy);
        vanished++;
        continue;
      }
      if (!fs.readFileSync(copy).equals(content)) {
        fs.writeFileSync(copy, content);
        restored++;
      }
    }
    return { restored, vanished };
  }

  /** A file this layer had not seen: what it holds now is what it holds for good. */
  private track(file: string): void {
    if (!this.durable.has(file)) this.durable.set(file, fs.readFileSync(file));
  }

  private pathOf(fd: number): string {
    return this.paths.get(fd) ?? fs.readlinkSync(`/proc/self/fd/${fd}`);
  }
}
