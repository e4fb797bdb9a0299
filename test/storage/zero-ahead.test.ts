// Zeros written ahead of the active segment's data (log.zero.ahead.bytes): a busy segment's
// file runs ahead of its data by zeros, a rolled segment and a cleanly closed one end exactly at
// their data, and a log copied as a crash leaves it (zeros and all, a rolled segment's cut not
// yet on disk) recovers every acknowledged record with no warning.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { ZERO_AHEAD_FROM } from '../../src/workers/partition/log/segment.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';

const SEGMENT_BYTES = 256 * 1024;
const ZERO_AHEAD = 128 * 1024;
const BATCH_VALUE = 4000;

/** A logger that keeps the messages logged at warn or above. */
function warnings(): { logger: ReturnType<typeof pino>; seen: string[] } {
  const seen: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void seen.push((JSON.parse(line) as { msg: string }).msg) });
  return { logger, seen };
}

function segmentFiles(dir: string): { name: string; size: number }[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort().map((name) => ({ name, size: fs.statSync(path.join(dir, name)).size }));
}

/** Bytes of whole batches (magic 2, a length that fits) at the start of `file`. */
function dataBytes(file: string): number {
  const buf = fs.readFileSync(file);
  let p = 0;
  while (p + 17 <= buf.length && buf.readInt32BE(p + 8) > 0 && buf[p + 16] === 2 && p + 12 + buf.readInt32BE(p + 8) <= buf.length) p += 12 + buf.readInt32BE(p + 8);
  return p;
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

t.test('zeros run ahead of a busy segment, rolled and closed segments end at their data, a crash copy recovers quietly', async (t) => {
  const root = tmpDir(t, 'zero-ahead');
  const cfg = config({ segmentBytes: SEGMENT_BYTES, zeroAheadBytes: ZERO_AHEAD });
  const source = path.join(root, 'source');
  const m = await LogManager.open({ dir: source, config: cfg, logger: silent });
  const log = await m.create('z', 0);
  const logDir = path.join(source, 'z-0');

  // Past the point where zeros start, within the first segment.
  let records = 0;
  while (log.segments[0]!.size < ZERO_AHEAD_FROM + 16 * 1024) {
    const r = await m.append(log, batch(2, BATCH_VALUE, Date.now(), records), { acks: -1, leaderEpoch: 0 });
    if (r.errorCode === ErrorCode.NONE) records += 2;
  }
  const [active] = segmentFiles(logDir);
  const activeData = dataBytes(path.join(logDir, active!.name));
  t.ok(active!.size > activeData, `the active segment's file runs ahead of its ${activeData} bytes of data (${active!.size} bytes)`);

  // Into a second and third segment: the rolled ones are cut back to their data.
  while (log.segments.length < 3) {
    const r = await m.append(log, batch(2, BATCH_VALUE, Date.now(), records), { acks: -1, leaderEpoch: 0 });
    if (r.errorCode === ErrorCode.NONE) records += 2;
  }
  // The new active segment past the point where zeros start too, so the close has some to cut.
  while (log.segments[2]!.size < ZERO_AHEAD_FROM + 16 * 1024) {
    const r = await m.append(log, batch(2, BATCH_VALUE, Date.now(), records), { acks: -1, leaderEpoch: 0 });
    if (r.errorCode === ErrorCode.NONE) records += 2;
  }
  const files = segmentFiles(logDir);
  const rolled = files.slice(0, -1);
  const last = files[files.length - 1]!;
  t.ok(last.size > dataBytes(path.join(logDir, last.name)), 'the new active segment runs ahead of its data too');
  t.same(rolled.map((f) => f.size), rolled.map((f) => dataBytes(path.join(logDir, f.name))), 'every rolled segment ends exactly at its data');

  // A crash copy: the files as they are now, the active one with its zeros; and a second copy
  // where the first segment's cut did not reach the disk either.
  const crash = path.join(root, 'crash');
  copyDir(source, crash);
  const uncut = path.join(root, 'uncut');
  copyDir(source, uncut);
  const firstRolled = path.join(uncut, 'z-0', rolled[0]!.name);
  fs.appendFileSync(firstRolled, Buffer.alloc(ZERO_AHEAD));

  await m.close();
  const closed = segmentFiles(logDir);
  t.same(closed.map((f) => f.size), closed.map((f) => dataBytes(path.join(logDir, f.name))), 'after a clean close every segment ends exactly at its data');

  for (const [name, dir] of [['crash copy', crash], ['crash copy with a rolled segment uncut', uncut]] as const) {
    // No clean-shutdown marker in a copy taken while running: the whole log is checked.
    fs.rmSync(path.join(dir, '.kafka_cleanshutdown'), { force: true });
    const w = warnings();
    const again = await LogManager.open({ dir, config: cfg, logger: w.logger });
    const back = again.get('z', 0)!;
    t.equal(back.logEndOffset, records, `${name}: the log ends after all ${records} acknowledged records`);
    const offsets: number[] = [];
    for (let at = 0; at < back.logEndOffset; ) {
      const read = await again.read(back, at, 64 << 20);
      const got = splitBatches(read.records);
      if (got.length === 0) break;
      for (const b of got) for (let o = b.baseOffset; o <= b.lastOffset; o++) offsets.push(o);
      at = got[got.length - 1]!.lastOffset + 1;
    }
    t.same(offsets, Array.from({ length: records }, (_, i) => i), `${name}: every record reads back, offsets 0..${records - 1}`);
    t.same(w.seen, [], `${name}: recovery logged no warning`);
    await again.close();
    const after = segmentFiles(path.join(dir, 'z-0'));
    t.same(after.map((f) => f.size), after.map((f) => dataBytes(path.join(dir, 'z-0', f.name))), `${name}: recovered and closed, every segment ends at its data`);
  }
});
