import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';
import { rng } from '../protocol/schema-values.js';

const SEED = Number(process.env.RECOVERY_SEED ?? 20240601);
const CASES = 220;

t.test(`recovery cuts a damaged active segment at the first bad byte (seed ${SEED})`, async (t) => {
  const root = tmpDir(t, 'recovery');
  const cfg = config({ segmentBytes: 1 << 20, indexIntervalBytes: 1024 });
  const random = rng(SEED);
  const source = path.join(root, 'source');
  const m = await LogManager.open({ dir: source, config: cfg, logger: silent });
  const log = await m.create('r', 0);
  for (let i = 0; i < 120; i++) {
    await m.append(log, batch(1 + Math.floor(random() * 6), Math.floor(random() * 400), Date.now() + i, i), { acks: 1, leaderEpoch: 0 });
  }
  await m.close();
  const segment = path.join(source, 'r-0', '00000000000000000000.log');
  const original = fs.readFileSync(segment);
  const batches = splitBatches(original).map((b, i, all) => {
    const start = all.slice(0, i).reduce((s, x) => s + x.bytes.length, 0);
    return { ...b, start, end: start + b.bytes.length };
  });

  for (let c = 0; c < CASES; c++) {
    const dir = path.join(root, `case-${c}`);
    fs.mkdirSync(path.join(dir, 'r-0'), { recursive: true });
    for (const f of fs.readdirSync(path.join(source, 'r-0'))) fs.copyFileSync(path.join(source, 'r-0', f), path.join(dir, 'r-0', f));
    const file = path.join(dir, 'r-0', '00000000000000000000.log');
    const at = Math.floor(random() * original.length);
    const flip = c % 2 === 1;
    let damagedFrom = at;
    if (flip) {
      // A flipped byte ruins its whole batch; baseOffset and partitionLeaderEpoch are the
      // two fields no CRC covers, so the flip lands elsewhere.
      const b = batches.find((x) => x.start <= at && at < x.end)!;
      const rel = at - b.start;
      const pos = rel < 8 || (rel >= 12 && rel < 16) ? b.start + 16 : at;
      const bytes = Buffer.from(original);
      bytes[pos] = bytes[pos]! ^ (1 + Math.floor(random() * 255));
      fs.writeFileSync(file, bytes);
      damagedFrom = b.start;
    } else {
      fs.truncateSync(file, at);
    }
    const kept = batches.filter((b) => b.end <= damagedFrom);
    const expectedEnd = kept.length ? kept[kept.length - 1]!.lastOffset + 1 : 0;

    const r = await LogManager.open({ dir, config: cfg, logger: silent });
    const l = r.get('r', 0)!;
    if (l.logEndOffset !== expectedEnd) t.fail(`case ${c} (${flip ? 'flip' : 'cut'} at ${at}): end ${l.logEndOffset}, expected ${expectedEnd}`);
    const got = kept.length ? splitBatches((await r.read(l, 0, original.length)).records) : [];
    if (got.length !== kept.length || got.some((g, i) => !g.bytes.equals(kept[i]!.bytes))) t.fail(`case ${c}: batches before the damage differ`);
    if (fs.statSync(file).size !== (kept.length ? kept[kept.length - 1]!.end : 0)) t.fail(`case ${c}: file not cut at the last valid batch`);
    const next = await r.append(l, batch(2, 50), { acks: -1, leaderEpoch: 0 });
    if (next.errorCode !== ErrorCode.NONE || next.baseOffset !== expectedEnd) t.fail(`case ${c}: append went to ${next.baseOffset}`);
    const back = splitBatches((await r.read(l, expectedEnd, 1000)).records);
    if (back.length !== 1 || back[0]!.baseOffset !== expectedEnd) t.fail(`case ${c}: appended batch not readable`);
    await r.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.pass(`${CASES} damaged copies recovered`);
});

t.test('recovery point and index rebuild after an unclean stop', async (t) => {
  const dir = tmpDir(t, 'recovery-point');
  const cfg = config({ segmentBytes: 32 * 1024, indexIntervalBytes: 512 });
  const m = await LogManager.open({ dir, config: cfg, logger: silent });
  const log = await m.create('p', 1);
  for (let i = 0; i < 100; i++) await m.append(log, batch(3, 300, Date.now(), i), { acks: -1, leaderEpoch: 2 });
  await m.writeCheckpoints();
  for (let i = 0; i < 30; i++) await m.append(log, batch(3, 300, Date.now(), i), { acks: -1, leaderEpoch: 5 });
  const end = log.logEndOffset;
  const active = log.active;
  // an unclean stop: no close, no marker; the active segment's index is lost too
  fs.truncateSync(path.join(dir, 'p-1', `${String(active.baseOffset).padStart(20, '0')}.index`), 0);
  fs.writeFileSync(path.join(dir, 'p-1', 'leader-epoch-checkpoint'), '0\n1\n2 0\n');
  const r = await LogManager.open({ dir, config: cfg, logger: silent, lock: false, owns: () => true });
  const l = r.get('p', 1)!;
  t.equal(l.logEndOffset, end);
  t.same(l.leaderEpochCache.entries, [{ epoch: 2, startOffset: 0 }, { epoch: 5, startOffset: 300 }], 'epochs found in the scanned tail');
  t.ok(l.active.index.entries > 0, 'index rebuilt');
  for (const off of [0, 299, 300, end - 1]) {
    const first = splitBatches((await r.read(l, off, 1)).records)[0]!;
    t.ok(first.baseOffset <= off && off <= first.lastOffset, `offset ${off} found`);
  }
  await r.close();
});
