/**
 * Durable state of one Raft node, all in one directory (`<log.dir>/__cluster_metadata-0/`):
 *
 *   00000000000000000001.log       log segment, named by the index of its first entry
 *   00000000000000004711.log       ... the newest segment is the one appended to
 *   quorum-state                   hard state: one frame holding HardState {term, vote, commit}
 *   00000000000000004096.snapshot  state machine snapshot through index 4096
 *
 * Every frame is `records.ts`'s [length u32][crc32 u32][payload]. A segment is a run of
 * frames, each a LogEntry {index, term, data}, indexes consecutive. A snapshot file is two
 * frames: SnapshotHeader {index, term}, then the state machine's bytes as the payload.
 *
 * Durability rules:
 * - Entries are written with one write per batch and made durable by `sync()`
 *   (fdatasync), which the driver calls before any message that depends on them leaves.
 * - Replacing entries (a follower's log diverged) truncates the segment file in place
 *   and deletes later segments.
 * - quorum-state and snapshots are written to a `.tmp` file, fsynced, renamed over the
 *   old one, and the directory fsynced: a crash leaves the old file or the new one.
 *   quorum-state is rewritten only when the term or the vote changes; its commit field
 *   is a hint that may lag.
 * - After a snapshot, older snapshots and segments wholly covered by it are deleted.
 *
 * Recovery (`open`): `.tmp` files are removed; the newest snapshot that reads back intact
 * wins; segments are read frame by frame and the log is cut at the first bad frame or
 * broken index sequence (the torn tail of a write a crash interrupted), deleting any later
 * segments. Everything that was synced is intact, so a node rejoins with all it acknowledged.
 *
 * Synchronous I/O: this runs on the raft worker's own thread, the metadata log is small
 * and low-rate, and a write that completes before the next line keeps the persist-then-send
 * order obvious. Not safe for use by more than one thread or process at a time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDirSync } from '../../../shared/create-dir.js';
import type { Logger } from '../../../shared/logger.js';
import type { Entry, HardState, Snapshot } from '../core/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshotHeader,
  encodeEntry,
  encodeHardState,
  encodeSnapshotHeader,
  frame,
  readFrame,
} from './records.js';

const SEGMENT_SUFFIX = '.log';
const SNAPSHOT_SUFFIX = '.snapshot';
const HARD_STATE_FILE = 'quorum-state';
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;

interface Segment {
  firstIndex: number;
  file: string;
  size: number;
  /** Byte position of each entry, by index - firstIndex. */
  positions: number[];
}

export interface RecoveredState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

function fileName(index: number, suffix: string): string {
  return String(index).padStart(20, '0') + suffix;
}

export class RaftStorage {
  private segments: Segment[] = [];
  /** Open for appending: the last segment. */
  private fd: number | undefined;
  private dirty = false;
  private savedTerm = -1;
  private savedVote = -1;

  private constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly segmentBytes: number,
  ) {}

  static open(dir: string, logger: Logger, segmentBytes = DEFAULT_SEGMENT_BYTES): { storage: RaftStorage; state: RecoveredState } {
    createDirSync(dir);
    const storage = new RaftStorage(dir, logger, segmentBytes);
    const state = storage.recover();
    return { storage, state };
  }

  lastIndex(): number {
    const seg = this.segments[this.segments.length - 1];
    return seg ? seg.firstIndex + seg.positions.length - 1 : 0;
  }

  /** Write entries after the log, replacing any stored entries from `entries[0].index` on. Not durable until `sync()`. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (this.segments.length > 0 && first <= this.lastIndex()) this.truncateFrom(first);
    if (this.segments.length > 0 && first !== this.lastIndex() + 1) throw new Error(`append at ${first} after ${this.lastIndex()}`);
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.size >= this.segmentBytes || this.fd === undefined) seg = this.roll(first);
    const frames: Buffer[] = [];
    let pos = seg.size;
    for (const e of entries) {
      const f = frame(encodeEntry(e));
      seg.positions.push(pos);
      pos += f.length;
      frames.push(f);
    }
    fs.writevSync(this.fd!, frames, seg.size);
    seg.size = pos;
    this.dirty = true;
  }

  sync(): void {
    if (this.dirty && this.fd !== undefined) fs.fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /** Persist term and vote (with the commit hint); a no-op when neither changed. */
  saveHardState(hs: HardState): void {
    if (hs.term === this.savedTerm && hs.vote === this.savedVote) return;
    this.replaceFile(HARD_STATE_FILE, [frame(encodeHardState(hs))]);
    this.savedTerm = hs.term;
    this.savedVote = hs.vote;
  }

  /** Persist a snapshot of the local state machine and drop what it covers. */
  saveSnapshot(snap: Snapshot): void {
    this.writeSnapshot(snap);
    // Start a fresh segment so the current one can go at the next snapshot.
    if (this.segments.length > 0) this.closeActive();
    for (const seg of [...this.segments]) {
      const last = seg.firstIndex + seg.positions.length - 1;
      if (last > snap.index) break;
      this.deleteSegment(seg);
    }
    this.syncDir();
  }

  /** Persist a snapshot received from the leader; it replaces the whole log. */
  installSnapshot(snap: Snapshot): void {
    this.writeSnapshot(snap);
    for (const seg of [...this.segments]) this.deleteSegment(seg);
    this.syncDir();
  }

  close(): void {
    this.sync();
    this.closeActive();
  }

  // ---- recovery ----

  private recover(): RecoveredState {
    const names = fs.readdirSync(this.dir);
    for (const n of names) if (n.endsWith('.tmp')) fs.rmSync(path.join(this.dir, n), { force: true });
    const hardState = this.readHardState();
    this.savedTerm = hardState.term;
    this.savedVote = hardState.vote;
    const snapshot = this.readNewestSnapshot(names.filter((n) => n.endsWith(SNAPSHOT_SUFFIX)).sort().reverse());
    const entries = this.readSegments(names.filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort());
    const snapIndex = snapshot?.index ?? 0;
    // Segments wholly covered by the snapshot, not reaching it, or from a log that
    // disagreed with it (a crash between installing a snapshot and dropping the old log).
    const atSnapshot = snapshot ? entries.find((e) => e.index === snapIndex) : undefined;
    const useless =
      entries.length > 0 &&
      (entries[0].index > snapIndex + 1 || entries[entries.length - 1].index <= snapIndex || (atSnapshot !== undefined && atSnapshot.term !== snapshot!.term));
    if (useless) {
      for (const seg of [...this.segments]) this.deleteSegment(seg);
      this.syncDir();
      return { hardState, snapshot, entries: [] };
    }
    if (this.segments.length > 0) {
      this.fd = fs.openSync(this.segments[this.segments.length - 1].file, 'r+');
    }
    return { hardState, snapshot, entries: entries.filter((e) => e.index > snapIndex) };
  }

  private readHardState(): HardState {
    const file = path.join(this.dir, HARD_STATE_FILE);
    if (!fs.existsSync(file)) return { term: 0, vote: 0, commit: 0 };
    const f = readFrame(fs.readFileSync(file), 0);
    // Written by rename only, so it is either whole or absent; a bad one means the disk lies.
    if (!f) throw new Error(`${file} is corrupt`);
    return decodeHardState(f.payload);
  }

  private readNewestSnapshot(names: string[]): Snapshot | undefined {
    for (const name of names) {
      const file = path.join(this.dir, name);
      const buf = fs.readFileSync(file);
      const header = readFrame(buf, 0);
      const body = header && readFrame(buf, header.next);
      if (header && body) {
        const { index, term } = decodeSnapshotHeader(header.payload);
        return { index, term, data: body.payload };
      }
      this.logger.warn({ file }, 'ignoring unreadable raft snapshot');
    }
    return undefined;
  }

  private readSegments(names: string[]): Entry[] {
    const entries: Entry[] = [];
    let cut = false;
    for (const name of names) {
      const file = path.join(this.dir, name);
      if (cut) {
        fs.rmSync(file, { force: true });
        continue;
      }
      const firstIndex = Number(name.slice(0, -SEGMENT_SUFFIX.length));
      const buf = fs.readFileSync(file);
      const seg: Segment = { firstIndex, file, size: 0, positions: [] };
      let pos = 0;
      while (pos < buf.length) {
        const f = readFrame(buf, pos);
        const e = f && decodeEntryOrUndefined(f.payload);
        const expected = entries.length > 0 ? entries[entries.length - 1].index + 1 : firstIndex;
        if (!f || !e || e.index !== expected || e.index !== firstIndex + seg.positions.length) {
          this.logger.warn({ file, position: pos, bytes: buf.length - pos }, 'cutting raft log at a torn or corrupt record');
          fs.truncateSync(file, pos);
          cut = true;
          break;
        }
        seg.positions.push(pos);
        entries.push(e);
        pos = f.next;
      }
      seg.size = pos;
      if (seg.positions.length === 0) fs.rmSync(file, { force: true });
      else this.segments.push(seg);
    }
    if (cut) this.syncDir();
    return entries;
  }

  // ---- files ----

  private roll(firstIndex: number): Segment {
    this.closeActive();
    const file = path.join(this.dir, fileName(firstIndex, SEGMENT_SUFFIX));
    this.fd = fs.openSync(file, 'w+');
    const seg: Segment = { firstIndex, file, size: 0, positions: [] };
    this.segments.push(seg);
    this.syncDir();
    return seg;
  }

  private truncateFrom(index: number): void {
    while (this.segments.length > 0) {
      const seg = this.segments[this.segments.length - 1];
      if (seg.firstIndex < index) {
        const keep = index - seg.firstIndex;
        const size = seg.positions[keep];
        seg.positions.length = keep;
        seg.size = size;
        if (this.fd === undefined) this.fd = fs.openSync(seg.file, 'r+');
        fs.ftruncateSync(this.fd, size);
        this.dirty = true;
        return;
      }
      this.deleteSegment(seg);
    }
  }

  private deleteSegment(seg: Segment): void {
    if (seg === this.segments[this.segments.length - 1]) this.closeActive();
    fs.rmSync(seg.file, { force: true });
    this.segments.splice(this.segments.indexOf(seg), 1);
  }

  private closeActive(): void {
    if (this.fd === undefined) return;
    if (this.dirty) fs.fdatasyncSync(this.fd);
    this.dirty = false;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private writeSnapshot(snap: Snapshot): void {
    const name = fileName(snap.index, SNAPSHOT_SUFFIX);
    this.replaceFile(name, [frame(encodeSnapshotHeader(snap.index, snap.term)), frame(snap.data)]);
    for (const n of fs.readdirSync(this.dir)) {
      if (n.endsWith(SNAPSHOT_SUFFIX) && n !== name) fs.rmSync(path.join(this.dir, n), { force: true });
    }
  }

  /** Write to a temp file, fsync, rename over `name`, fsync the directory. */
  private replaceFile(name: string, chunks: Buffer[]): void {
    const tmp = path.join(this.dir, `${name}.tmp`);
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writevSync(fd, chunks);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(this.dir, name));
    this.syncDir();
  }

  private syncDir(): void {
    const fd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function decodeEntryOrUndefined(payload: Uint8Array): Entry | undefined {
  try {
    return decodeEntry(payload);
  } catch {
    return undefined;
  }
}
