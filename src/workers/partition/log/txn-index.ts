/**
 * A segment's aborted-transaction index, `<baseOffset>.txnindex`, in Kafka's layout
 * (TransactionIndex, AbortedTxn): one 34-byte entry per transaction that an ABORT marker in
 * the segment ended, in marker order, no header, big-endian:
 *
 *    0  version           int16  0
 *    2  producerId        int64
 *   10  firstOffset       int64  the transaction's first offset in this partition
 *   18  lastOffset        int64  the ABORT marker's offset
 *   26  lastStableOffset  int64  the partition's last stable offset once the marker went in
 *
 * A read_committed fetch is told which transactions to drop from these entries. The entries
 * live in memory (a segment holds few); the segment (segment.ts) writes them to the file with
 * its other indexes and fsyncs them before the recovery point passes them, so a recovery
 * trusts the entries below the recovery point and rebuilds the others from the markers it
 * replays. As in Kafka the file is created by the segment's first entry: most segments have none.
 */
export const TXN_INDEX_ENTRY_SIZE = 34;
const VERSION = 0;

/** One aborted transaction. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the ABORT marker. */
  lastOffset: number;
  /** The last stable offset once the marker went in. */
  lastStableOffset: number;
}

export function encodeTxnEntries(entries: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.alloc(entries.length * TXN_INDEX_ENTRY_SIZE);
  entries.forEach((e, i) => {
    const p = i * TXN_INDEX_ENTRY_SIZE;
    buf.writeInt16BE(VERSION, p);
    buf.writeBigInt64BE(BigInt(e.producerId), p + 2);
    buf.writeBigInt64BE(BigInt(e.firstOffset), p + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), p + 18);
    buf.writeBigInt64BE(BigInt(e.lastStableOffset), p + 26);
  });
  return buf;
}

/**
 * The entries of a segment based at `baseOffset`, up to the first that cannot be one of its
 * own (a torn tail, an unknown version, a marker below the segment or not after the previous
 * one: Kafka's sanity check), which a crash may leave in a file written after its last fsync.
 */
export function decodeTxnEntries(buf: Uint8Array, baseOffset: number): AbortedTxn[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: AbortedTxn[] = [];
  let last = baseOffset - 1;
  for (let p = 0; p + TXN_INDEX_ENTRY_SIZE <= b.length; p += TXN_INDEX_ENTRY_SIZE) {
    if (b.readInt16BE(p) !== VERSION) break;
    const e = {
      producerId: Number(b.readBigInt64BE(p + 2)),
      firstOffset: Number(b.readBigInt64BE(p + 10)),
      lastOffset: Number(b.readBigInt64BE(p + 18)),
      lastStableOffset: Number(b.readBigInt64BE(p + 26)),
    };
    if (e.lastOffset <= last || e.firstOffset > e.lastOffset) break;
    out.push(e);
    last = e.lastOffset;
  }
  return out;
}

export class TxnIndex {
  private readonly list: AbortedTxn[];
  /** Entries [0, persisted) are in the file, each at its position. */
  persisted: number;
  /** Entries' worth of bytes the file holds (more than `entries` after a truncation, until it is cut). */
  fileEntries: number;

  /** `fileBytes`: the size of the file the entries were read from (0: no file). */
  constructor(entries: AbortedTxn[] = [], fileBytes = 0) {
    this.list = entries;
    this.persisted = entries.length;
    this.fileEntries = Math.ceil(fileBytes / TXN_INDEX_ENTRY_SIZE);
  }

  get entries(): number {
    return this.list.length;
  }

  /** Whether the file differs from the entries. */
  get dirty(): boolean {
    return this.persisted < this.list.length || this.fileEntries > this.list.length;
  }

  all(): readonly AbortedTxn[] {
    return this.list;
  }

  /**
   * Adds the entry of a marker, in marker order; returns false when the index holds that
   * marker's entry already (a recovery replaying markers a trusted index has).
   */
  add(e: AbortedTxn): boolean {
    let i = this.list.length;
    while (i > 0 && this.list[i - 1]!.lastOffset > e.lastOffset) i--;
    if (i > 0 && this.list[i - 1]!.lastOffset === e.lastOffset) return false;
    this.list.splice(i, 0, { ...e });
    this.persisted = Math.min(this.persisted, i);
    return true;
  }

  /**
   * Adds to `out` the entries whose transactions overlap [from, to) (Kafka's
   * collectAbortedTxns). Returns true once an entry's last stable offset reaches `to`: no
   * transaction aborted later started below it, so later segments need not be searched.
   */
  collect(from: number, to: number, out: AbortedTxn[]): boolean {
    for (const e of this.list) {
      if (e.lastOffset >= from && e.firstOffset < to) out.push(e);
      if (e.lastStableOffset >= to) return true;
    }
    return false;
  }

  /** Drops the entries of markers at or past `offset` (the log is cut there). */
  truncateTo(offset: number): void {
    let keep = this.list.length;
    while (keep > 0 && this.list[keep - 1]!.lastOffset >= offset) keep--;
    this.list.length = keep;
    this.persisted = Math.min(this.persisted, keep);
  }

  /** Entries [persisted, end) in file layout, to be written at `persisted` entries into the file. */
  unpersisted(): Buffer {
    return encodeTxnEntries(this.list.slice(this.persisted));
  }
}
