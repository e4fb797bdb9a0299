// The aborted-transaction index of each segment (`<base>.txnindex`, Kafka's layout): the bytes
// an ABORT marker writes, the entries of old rolled segments after a clean restart and after a
// crash that lost the index writes past the recovery point, truncation, retention and
// DeleteRecords, and a data dir whose aborted transactions are only in version 2 producer
// snapshots (written before the indexes existed).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildMarkerBatch } from '../../src/shared/control-records.js';
import { crc32c } from '../../src/shared/crc32c.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/workers/partition/log/data-dir.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { listSnapshots, snapshotFileName } from '../../src/workers/partition/log/producer-snapshot.js';
import { segmentFileName } from '../../src/workers/partition/log/segment.js';
import type { AbortedTxn } from '../../src/workers/partition/log/txn-index.js';
import { config, silent, tmpDir } from './helpers.js';

const SMALL = config({ segmentBytes: 1024, indexIntervalBytes: 256 });

function txnData(producerId: number, count: number, size: number): Buffer {
  const b = buildRecordBatch({
    producerId,
    producerEpoch: 0,
    baseSequence: 0,
    records: Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${producerId}-${i}`), value: Buffer.alloc(size, i) })),
  });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

/** A transaction of its own producer: records, then its marker. The index entry an abort makes. */
async function transaction(m: LogManager, log: PartitionLog, producerId: number, commit: boolean, size = 200): Promise<AbortedTxn> {
  const data = await m.append(log, txnData(producerId, 3, size), { acks: 1, leaderEpoch: 0 });
  const marker = await m.append(log, buildMarkerBatch(producerId, 0, commit, 0), { acks: 1, leaderEpoch: 0, markers: true });
  if (data.errorCode !== 0 || marker.errorCode !== 0) throw new Error(`append failed: ${data.errorCode} ${marker.errorCode}`);
  return { producerId, firstOffset: data.baseOffset, lastOffset: marker.baseOffset, lastStableOffset: marker.baseOffset + 1 };
}

/** Several transactions, every other one aborted, in segments of about one transaction each. */
async function transactions(m: LogManager, log: PartitionLog, firstProducer: number, n: number): Promise<AbortedTxn[]> {
  const aborted: AbortedTxn[] = [];
  for (let i = 0; i < n; i++) {
    const txn = await transaction(m, log, firstProducer + i, i % 2 === 1);
    if (i % 2 === 0) aborted.push(txn);
  }
  return aborted;
}

/** The entries of every .txnindex file of the log's dir, decoded here from Kafka's layout. */
function indexFiles(dir: string): Map<number, AbortedTxn[]> {
  const out = new Map<number, AbortedTxn[]>();
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.txnindex')).sort()) {
    const buf = fs.readFileSync(path.join(dir, name));
    const entries: AbortedTxn[] = [];
    for (let p = 0; p + 34 <= buf.length; p += 34) {
      if (buf.readInt16BE(p) !== 0) throw new Error(`${name}: version ${buf.readInt16BE(p)}`);
      entries.push({
        producerId: Number(buf.readBigInt64BE(p + 2)),
        firstOffset: Number(buf.readBigInt64BE(p + 10)),
        lastOffset: Number(buf.readBigInt64BE(p + 18)),
        lastStableOffset: Number(buf.readBigInt64BE(p + 26)),
      });
    }
    out.set(Number(name.slice(0, 20)), entries);
  }
  return out;
}

const all = (log: PartitionLog): AbortedTxn[] => log.abortedTxns(0, log.logEndOffset);
const reopen = (dir: string): Promise<LogManager> => LogManager.open({ dir, config: SMALL, logger: silent, lock: false, owns: () => true });

t.test('an ABORT marker writes a 34-byte entry in Kafka\'s layout; a COMMIT writes none', async (t) => {
  const dir = tmpDir(t, 'txnindex-bytes');
  const m = await LogManager.open({ dir, config: config(), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  await transaction(m, log, 0x0102030405, false);
  await transaction(m, log, 9, true);
  await m.writeCheckpoints();
  const bytes = fs.readFileSync(path.join(log.dir, segmentFileName(0, '.txnindex')));
  const expected = Buffer.from(
    '0000' + // version 0
      '0000000102030405' + // producer id
      '0000000000000000' + // first offset
      '0000000000000003' + // last offset: the marker
      '0000000000000004', // last stable offset once the marker went in
    'hex',
  );
  t.same(bytes.toString('hex'), expected.toString('hex'), 'the file holds the one entry, byte for byte');
});

t.test('read_committed finds the aborted transactions of old segments after a clean restart and a crash', async (t) => {
  const dir = tmpDir(t, 'txnindex-restart');
  let m = await LogManager.open({ dir, config: SMALL, logger: silent });
  let log = await m.create('p', 0);
  const first = await transactions(m, log, 100, 6);
  t.ok(log.segments.length >= 6, `${log.segments.length} segments`);
  t.same(all(log), first, 'the entries of the three aborted transactions');
  t.same(log.abortedTxns(first[1]!.firstOffset + 1, log.logEndOffset), first.slice(1), 'a fetch from inside the second sees the second and the third');
  await m.close();
  const filesAtClose = indexFiles(log.dir);
  t.same([...filesAtClose.values()].flat(), first, 'each entry in the file of its marker\'s segment');
  t.ok([...filesAtClose.keys()].every((base) => base < log.active.baseOffset), 'all of them in rolled segments');

  m = await reopen(dir);
  log = m.get('p', 0)!;
  t.same(all(log), first, 'after a clean restart: the same entries');
  const recoveryPoint = log.logEndOffset;
  const later = await transactions(m, log, 200, 6);
  await log.snapshotsWritten();
  t.ok(listSnapshots(log.dir).some((o) => o > recoveryPoint), 'the rolls wrote producer snapshots past the recovery point');
  // A crash: no close, and the index writes never fsynced (every file of a segment past the recovery point) are lost.
  for (const base of indexFiles(log.dir).keys()) {
    if (base >= recoveryPoint) fs.rmSync(path.join(log.dir, segmentFileName(base, '.txnindex')));
  }
  m = await reopen(dir);
  t.teardown(() => m.close());
  log = m.get('p', 0)!;
  t.same(all(log), [...first, ...later], 'after the crash: the entries past the recovery point are rebuilt from the markers');
  t.same([...indexFiles(log.dir).values()].flat(), [...first, ...later], 'and written to their files again');
});

t.test('a truncation drops the entries of the markers it cuts', async (t) => {
  const dir = tmpDir(t, 'txnindex-truncate');
  const m = await LogManager.open({ dir, config: config(), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  const aborted = await transactions(m, log, 1, 5);
  await m.writeCheckpoints();
  t.equal(fs.statSync(path.join(log.dir, segmentFileName(0, '.txnindex'))).size, 3 * 34);
  await log.truncateTo(aborted[2]!.lastOffset);
  t.same(all(log), aborted.slice(0, 2), 'the third transaction\'s marker is cut: its entry goes');
  t.equal(fs.statSync(path.join(log.dir, segmentFileName(0, '.txnindex'))).size, 2 * 34, 'from the file too');
  await log.truncateTo(aborted[1]!.lastOffset + 1);
  t.same(all(log), aborted.slice(0, 2), 'a cut right after a marker keeps its entry');
});

t.test('retention and DeleteRecords delete the index with its segment', async (t) => {
  const dir = tmpDir(t, 'txnindex-retention');
  const m = await LogManager.open({ dir, config: config({ segmentBytes: 1024, retentionMs: 60_000 }), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  const aborted = await transactions(m, log, 1, 7);
  await m.writeCheckpoints();
  const before = indexFiles(log.dir);
  t.equal(before.size, 4, 'four segments with an index');
  const second = [...before.keys()][1]!;
  await log.deleteRecordsBefore(second);
  t.same([...indexFiles(log.dir).keys()], [...before.keys()].slice(1), 'DeleteRecords: the index of the segment below the new start is gone');
  t.same(all(log).map((a) => a.producerId), aborted.slice(1).map((a) => a.producerId));
  const deleted = await log.applyRetention(Date.now() + 120_000);
  t.ok(deleted > 0, `retention deleted ${deleted} segments`);
  t.same([...indexFiles(log.dir).keys()].filter((b) => b < log.segments[0]!.baseOffset), [], 'retention: no index left of a deleted segment');
  t.same(all(log), aborted.filter((a) => a.lastOffset >= log.segments[0]!.baseOffset), 'only the entries of the segments left');
});

/** `buf` (a version 3 snapshot) as a version 2 one, which lists the aborted transactions after the producers. */
function asVersion2(buf: Buffer, aborted: AbortedTxn[]): Buffer {
  const list = Buffer.alloc(4 + aborted.length * 32);
  list.writeInt32BE(aborted.length, 0);
  aborted.forEach((a, i) => {
    const p = 4 + i * 32;
    list.writeBigInt64BE(BigInt(a.producerId), p);
    list.writeBigInt64BE(BigInt(a.firstOffset), p + 8);
    list.writeBigInt64BE(BigInt(a.lastOffset), p + 16);
    list.writeBigInt64BE(BigInt(a.lastStableOffset), p + 24);
  });
  const out = Buffer.concat([buf, list]);
  out.writeInt16BE(2, 0);
  out.writeUInt32BE(crc32c(out, 6, out.length), 2);
  return out;
}

/** Makes the log's dir look as before the transaction indexes: no .txnindex, the aborted transactions in version 2 snapshots. */
function asBeforeTxnIndexes(logDir: string, aborted: AbortedTxn[]): void {
  for (const name of fs.readdirSync(logDir).filter((n) => n.endsWith('.txnindex'))) fs.rmSync(path.join(logDir, name));
  for (const offset of listSnapshots(logDir)) {
    const file = path.join(logDir, snapshotFileName(offset));
    fs.writeFileSync(file, asVersion2(fs.readFileSync(file), aborted.filter((a) => a.lastOffset < offset)));
  }
}

for (const crash of [false, true]) {
  t.test(`a data dir from before the indexes keeps its aborted transactions (${crash ? 'after a crash' : 'clean shutdown'})`, async (t) => {
    const dir = tmpDir(t, 'txnindex-upgrade');
    const m = await LogManager.open({ dir, config: SMALL, logger: silent });
    const log = await m.create('p', 0);
    const aborted = await transactions(m, log, 1, 9);
    await m.close();
    asBeforeTxnIndexes(log.dir, aborted);
    if (crash) {
      // The snapshot of the shutdown is lost too: the state starts from a roll's, and the markers after it are replayed.
      fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
      fs.rmSync(path.join(log.dir, snapshotFileName(log.logEndOffset)));
    }
    const r = await reopen(dir);
    t.teardown(() => r.close());
    const l = r.get('p', 0)!;
    t.same(all(l), aborted, 'every aborted transaction is found');
    t.same([...indexFiles(l.dir).values()].flat(), aborted, 'each in the index file of its marker\'s segment');
  });
}
