// Power loss under appends. A log with small segments (so that segments roll, and new files
// must be named durably) takes acks=-1 appends, several in flight, while a seeded schedule
// cuts the power at a random moment: every change no fdatasync covered is dropped and files
// created since their dir was last synced vanish (power-loss-io.ts). The log is then opened
// again by the real recovery, and every append answered as durable before the cut must be
// there, at its offsets, byte for byte; the log must be one valid run of batches (contiguous
// offsets, CRCs right) and take appends again. Each seed runs several power losses in a row.
// A failing seed is replayed alone with POWER_LOSS_SEED=<seed> POWER_LOSS_SEEDS=1.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { crc32c } from '../../src/shared/crc32c.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { PowerLossIo } from './power-loss-io.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';
import { rng } from '../protocol/schema-values.js';

const FIRST_SEED = Number(process.env.POWER_LOSS_SEED ?? 1);
const SEEDS = Number(process.env.POWER_LOSS_SEEDS ?? 200);
const LOSSES_PER_SEED = 3;
/** Appends in flight at most. */
const IN_FLIGHT = 6;

/** A batch acknowledged as durable: its offsets and the bytes the producer sent (from the magic byte on). */
interface Acked {
  baseOffset: number;
  lastOffset: number;
  body: Buffer;
}

const cfg = config({ segmentBytes: 3000, indexIntervalBytes: 256 });

function open(dir: string, io: PowerLossIo): Promise<LogManager> {
  return LogManager.open({ dir, config: cfg, logger: silent, io, owns: () => true, lock: false, cleanShutdown: false, maxOpenFiles: 8 });
}

/** Every batch of the log, in order. */
async function readAll(m: LogManager, log: PartitionLog): Promise<ReturnType<typeof splitBatches>> {
  const out: ReturnType<typeof splitBatches> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await m.read(log, offset, 1 << 20);
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`read at ${offset}: error ${r.errorCode}`);
    const got = splitBatches(r.records);
    if (got.length === 0) throw new Error(`read at ${offset} returned no batch below the log end ${log.logEndOffset}`);
    out.push(...got);
    offset = got[got.length - 1]!.lastOffset + 1;
  }
  return out;
}

/** What is wrong with the recovered log, or undefined. */
async function check(m: LogManager, log: PartitionLog, acked: Acked[]): Promise<string | undefined> {
  const batches = await readAll(m, log);
  let next = log.logStartOffset;
  for (const b of batches) {
    if (b.baseOffset !== next) return `batch at ${b.baseOffset} where ${next} was expected`;
    if (crc32c(b.bytes, 21) !== b.bytes.readUInt32BE(17)) return `batch at ${b.baseOffset}: CRC mismatch`;
    next = b.lastOffset + 1;
  }
  if (next !== log.logEndOffset) return `batches end at ${next}, the log at ${log.logEndOffset}`;
  const byBase = new Map(batches.map((b) => [b.baseOffset, b]));
  for (const a of acked) {
    const b = byBase.get(a.baseOffset);
    if (!b) return `acknowledged batch ${a.baseOffset}..${a.lastOffset} lost (log ${log.logStartOffset}..${log.logEndOffset})`;
    if (b.lastOffset !== a.lastOffset || !b.bytes.subarray(16).equals(a.body)) return `acknowledged batch ${a.baseOffset} changed`;
  }
  return undefined;
}

/** One seed: appends and power losses in a row; the first problem found, or undefined. */
async function runSeed(root: string, seed: number): Promise<{ problem?: string; acked: number; vanished: number }> {
  const random = rng(seed);
  const acked: Acked[] = [];
  let vanished = 0;
  let dir = path.join(root, `seed-${seed}-0`);
  for (let loss = 0; loss <= LOSSES_PER_SEED; loss++) {
    const io = new PowerLossIo(dir);
    const m = await open(dir, io);
    const log = await m.create('p', 0);
    const problem = await check(m, log, acked);
    if (problem) return { problem: `after power loss ${loss}: ${problem}`, acked: acked.length, vanished };
    if (loss === LOSSES_PER_SEED) {
      await m.close();
      break;
    }
    // Appends until the layer has done `cut` more operations, then the power goes.
    const cut = io.ops + 1 + Math.floor(random() * 120);
    const inFlight = new Set<Promise<void>>();
    const all: Promise<void>[] = [];
    let n = 0;
    while (io.ops < cut) {
      if (inFlight.size < IN_FLIGHT && random() < 0.6) {
        const records = batch(1 + Math.floor(random() * 4), Math.floor(random() * 300), 1_700_000_000_000 + n, seed * 1000 + n);
        n++;
        const body = Buffer.from(records.subarray(16));
        const p: Promise<void> = m.append(log, records, { acks: -1, leaderEpoch: 0 }).then((r) => {
          if (r.errorCode === ErrorCode.NONE) acked.push({ baseOffset: r.baseOffset, lastOffset: r.lastOffset, body });
        });
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        all.push(tracked);
      } else if (inFlight.size > 0 && random() < 0.5) {
        await [...inFlight][Math.floor(random() * inFlight.size)];
      } else {
        await new Promise((r) => setImmediate(r));
      }
    }
    const next = path.join(root, `seed-${seed}-${loss + 1}`);
    vanished += io.losePower(next).vanished;
    // The old process's appends end in errors now (no disk); those answered before the cut count.
    await Promise.allSettled(all);
    dir = next;
  }
  return { acked: acked.length, vanished };
}

t.test(`acknowledged appends survive power losses (seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1})`, async (t) => {
  // On tmpfs when there is one: the disk's own fsyncs add nothing to a power loss this layer models.
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/power-loss-') : undefined;
  if (shm) t.teardown(() => fs.rmSync(shm, { recursive: true, force: true }));
  const root = shm ?? tmpDir(t, 'power-loss');
  const started = Date.now();
  const failures: string[] = [];
  let acked = 0;
  let vanished = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = await runSeed(root, seed);
    acked += r.acked;
    vanished += r.vanished;
    if (r.problem) failures.push(`seed ${seed}: ${r.problem}`);
    fs.rmSync(path.join(root), { recursive: true, force: true });
    fs.mkdirSync(root);
  }
  t.comment(`${SEEDS} seeds, ${SEEDS * LOSSES_PER_SEED} power losses, ${acked} acknowledged batches checked, ${vanished} files vanished, ${Date.now() - started} ms`);
  t.same(failures, [], 'every acknowledged batch is found after every power loss, in a valid log');
  t.ok(acked > SEEDS * 5, 'the schedules acknowledged appends before cutting the power');
});
