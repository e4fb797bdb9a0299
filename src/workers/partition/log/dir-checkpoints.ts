/**
 * The offset checkpoint files of a log dir, Kafka's text format (checkpoint-file.ts): each
 * holds `topic partition offset` lines for the logs of the dir. Several log managers (one per
 * partition worker) share a dir, each owning some partitions: a manager reads only its own
 * entries and replaces only its own, keeping the others' (updateCheckpoint's lock). Writes of
 * one file by one manager run one after the other, each with the entries given when it starts.
 */
import path from 'node:path';
import { readCheckpoint, updateCheckpoint } from './checkpoint-file.js';
import type { FileCache } from './file-cache.js';

/** A checkpoint update holds its lock file open while it writes the new file, then syncs the dir. */
const CHECKPOINT_DESCRIPTORS = 2;

export type CheckpointEntry = readonly [topic: string, partition: number, offset: number];

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export class DirCheckpoints {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly files: FileCache,
    private readonly owns: (topic: string, partition: number) => boolean,
  ) {}

  /** This owner's offsets in `file`, by partitionKey; empty when the file does not exist. */
  read(file: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const [t, p, o] of readCheckpoint(path.join(this.dir, file)) ?? []) {
      const offset = Number(o);
      if (this.owns(t!, Number(p)) && Number.isSafeInteger(offset)) out.set(partitionKey(t!, Number(p)), offset);
    }
    return out;
  }

  /** Replaces this owner's entries in `file` with `entries()`, read when the write starts. */
  write(file: string, entries: () => Iterable<CheckpointEntry>): Promise<void> {
    const run = (this.writes.get(file) ?? Promise.resolve()).then(() =>
      this.files.borrow(CHECKPOINT_DESCRIPTORS, () => updateCheckpoint(path.join(this.dir, file), (e) => this.owns(e[0]!, Number(e[1])), [...entries()])),
    );
    this.writes.set(file, run.catch(() => undefined));
    return run;
  }

  /** Resolves once every write started so far is over (done or failed). */
  async written(): Promise<void> {
    await Promise.all(this.writes.values());
  }
}
