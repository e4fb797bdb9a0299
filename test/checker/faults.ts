/**
 * The faults a checker run injects on the in-process cluster, each a function over the running
 * cluster and workload. A fault records when it struck and which partitions it hit (for the
 * recovery figures), notes what it saw, and lists broken expectations that the history alone
 * cannot show (an exit code, an acks=all success while two brokers are down). Victims are
 * picked from the cluster's own view (every broker asked), not from the clients'.
 */
import { awaitAcks, RECOVERY_BOUND_MS, strike, type FaultLog } from '../../src/checker/faults.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { sleep, type CheckerCluster } from './cluster.js';

export interface FaultContext extends FaultLog {
  cluster: CheckerCluster;
  topic: string;
  partitions: number;
}

export type Fault = (ctx: FaultContext) => Promise<void>;

const ISR_BOUND_MS = 45_000;

async function partitionsLedBy(ctx: FaultContext, broker: number): Promise<number[]> {
  return (await ctx.cluster.view(ctx.topic)).filter((p) => p.leader === broker).map((p) => p.partition);
}

/** SIGKILL the leader of a partition `kills` times (rotating partitions), restarting it each time. */
export function killLeader(kills: number): Fault {
  return killBroker(kills, 'leader', 'led');
}

/**
 * SIGKILL a broker `kills` times, restarting it each time: the leader of a partition (rotating
 * partitions) or the active controller. Recovery counts on the partitions it led, those it
 * only followed (which wait for it to leave their ISR), or all of them.
 */
export function killBroker(kills: number, victimOf: 'leader' | 'controller', measured: 'led' | 'followed' | 'all'): Fault {
  return async (ctx) => {
    for (let i = 0; i < kills; i++) {
      const view = await ctx.cluster.view(ctx.topic);
      const victim = victimOf === 'leader' ? view[i % view.length]!.leader : await ctx.cluster.activeController();
      const led = view.filter((p) => p.leader === victim).map((p) => p.partition);
      const hit = measured === 'led' ? led : view.map((p) => p.partition).filter((p) => measured === 'all' || !led.includes(p));
      const e = strike(ctx, `sigkill-${victimOf}`, hit, `broker ${victim}, ${measured} partitions`);
      await ctx.cluster.broker(victim).kill('SIGKILL');
      if (!(await awaitAcks(ctx, hit, e.at, RECOVERY_BOUND_MS))) ctx.notes.push(`kill ${i + 1}: partitions ${hit} of broker ${victim} not writable within ${RECOVERY_BOUND_MS} ms`);
      await ctx.cluster.broker(victim).restart();
      await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
    }
  };
}

/**
 * Overlapping kills, `rounds` times: SIGKILL a partition leader, wait until every partition
 * takes writes again, restart it, and as soon as it listens (still catching up, maybe not yet
 * in any ISR) SIGKILL the leader of another partition; then restart that one. While the first
 * is behind and the second is down, a partition whose ISR held both has one replica in sync:
 * acks=all must fail until the first catches up, and nothing acknowledged may be lost.
 * Recovery counts on every partition, for each kill.
 */
export function overlappingKills(rounds: number): Fault {
  return async (ctx) => {
    const every = Array.from({ length: ctx.partitions }, (_, p) => p);
    for (let i = 0; i < rounds; i++) {
      const first = (await ctx.cluster.view(ctx.topic))[i % ctx.partitions]!.leader;
      const e = strike(ctx, 'overlap-first', every, `broker ${first}`);
      await ctx.cluster.broker(first).kill('SIGKILL');
      if (!(await awaitAcks(ctx, every, e.at, RECOVERY_BOUND_MS))) ctx.notes.push(`round ${i + 1}: not writable within ${RECOVERY_BOUND_MS} ms of killing broker ${first}`);
      await ctx.cluster.broker(first).restart();
      const second = (await ctx.cluster.view(ctx.topic)).map((p) => p.leader).find((id) => id > 0 && id !== first);
      if (second === undefined) {
        ctx.violations.push(`round ${i + 1}: no partition led by a broker other than the restarted ${first}`);
        continue;
      }
      const e2 = strike(ctx, 'overlap-second', every, `broker ${second} while broker ${first} catches up`);
      await ctx.cluster.broker(second).kill('SIGKILL');
      if (!(await awaitAcks(ctx, every, e2.at, RECOVERY_BOUND_MS))) ctx.notes.push(`round ${i + 1}: not writable within ${RECOVERY_BOUND_MS} ms of killing broker ${second}`);
      await ctx.cluster.broker(second).restart();
      await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
    }
  };
}

/** SIGSTOP a partition leader for longer than the session timeout, then SIGCONT. */
export function pauseLeader(pausedMs = 6000): Fault {
  return async (ctx) => {
    const victim = (await ctx.cluster.view(ctx.topic))[0]!.leader;
    const hit = await partitionsLedBy(ctx, victim);
    const e = strike(ctx, 'sigstop-leader', hit, `broker ${victim} for ${pausedMs} ms`);
    ctx.cluster.broker(victim).proc.kill('SIGSTOP');
    await awaitAcks(ctx, hit, e.at, Math.max(pausedMs, RECOVERY_BOUND_MS));
    await sleep(Math.max(0, e.at + pausedMs - Date.now()));
    ctx.cluster.broker(victim).proc.kill('SIGCONT');
    await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
  };
}

/** Waits until `broker` leads at least one partition (preferred leadership has returned to it). */
async function awaitLeadership(ctx: FaultContext, broker: number, boundMs: number): Promise<number[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const led = await partitionsLedBy(ctx, broker);
    if (led.length > 0 || Date.now() >= deadline) return led;
    await sleep(100);
  }
}

/**
 * SIGTERM each broker in turn: it must exit 0; restart it and wait until it is back in every ISR.
 * Each broker is struck only once it leads again (preferred leaders return after a restart), so
 * every restart is measured on partitions it led; leadership that never returns is a violation.
 */
export function rollingRestart(): Fault {
  return async (ctx) => {
    for (const b of ctx.cluster.brokers) {
      const hit = await awaitLeadership(ctx, b.nodeId, RECOVERY_BOUND_MS);
      if (hit.length === 0) ctx.violations.push(`broker ${b.nodeId} led no partition ${RECOVERY_BOUND_MS} ms after the previous restart: preferred leadership did not return`);
      strike(ctx, 'sigterm-restart', hit, `broker ${b.nodeId}`);
      const code = await b.stop(20_000);
      ctx.notes.push(`broker ${b.nodeId} exited with ${code}`);
      if (code !== 0) ctx.violations.push(`broker ${b.nodeId} exited with ${code} after SIGTERM (want 0)`);
      await b.restart();
      await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
    }
  };
}

/** Cuts a partition leader off from the other brokers (the checker still reaches it), then heals. */
export function isolateLeader(cutMs = 8000): Fault {
  return async (ctx) => {
    const victim = (await ctx.cluster.view(ctx.topic))[0]!.leader;
    const hit = await partitionsLedBy(ctx, victim);
    const e = strike(ctx, 'partition-leader', hit, `broker ${victim} for ${cutMs} ms`);
    ctx.cluster.isolate(victim);
    await awaitAcks(ctx, hit, e.at, Math.max(cutMs, RECOVERY_BOUND_MS));
    await sleep(Math.max(0, e.at + cutMs - Date.now()));
    ctx.cluster.isolate(null);
    await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
  };
}

/** A produce carries a 3 s timeout; an answer later than this is a hang, not a timeout. */
const ANSWER_WITHIN_MS = 8000;

/**
 * SIGKILL two of the three brokers: acks=all produce to the survivor must fail, with
 * NOT_ENOUGH_REPLICAS (19, or 20 after append) once the ISR has shrunk, or REQUEST_TIMED_OUT (7)
 * while it waits for replicas that are gone, or a leadership error; never success, and never
 * silence past the request's own timeout.
 */
export function twoDown(probeMs = 8000): Fault {
  return async (ctx) => {
    const view = await ctx.cluster.view(ctx.topic);
    const survivor = view[0]!.leader;
    const dead = ctx.cluster.brokers.filter((b) => b.nodeId !== survivor);
    strike(ctx, 'two-brokers-down', [], `brokers ${dead.map((b) => b.nodeId)} killed, ${survivor} left`);
    await Promise.all(dead.map((b) => b.kill('SIGKILL')));
    const downAt = Date.now();
    const codes = new Map<string, number>();
    while (Date.now() < downAt + probeMs) {
      const ops = await Promise.all(view.map((p) => ctx.workload.writeOnce(p.partition, -1, survivor, ANSWER_WITHIN_MS)));
      for (const op of ops) {
        const k = op.outcome === 'ok' ? 'SUCCESS' : op.errorCode >= 0 ? `${op.errorCode}` : 'no answer';
        codes.set(k, (codes.get(k) ?? 0) + 1);
        if (op.outcome === 'ok') ctx.violations.push(`acks=all produce to broker ${survivor} partition ${op.partition} succeeded with two brokers down (offset ${op.offset})`);
      }
    }
    const late = ctx.workload.writes.filter((w) => w.acks === -1 && w.outcome === 'ok' && w.sentAt >= downAt);
    for (const w of late) if (w.broker !== survivor) ctx.violations.push(`acks=all produce of ${w.value} to broker ${w.broker} succeeded with two brokers down`);
    ctx.notes.push(`acks=all answers from broker ${survivor} with two down: ${[...codes].map(([k, n]) => `${k}x${n}`).join(', ')}`);
    const allowed = new Set([`${ErrorCode.NOT_ENOUGH_REPLICAS}`, `${ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND}`, `${ErrorCode.REQUEST_TIMED_OUT}`,
      `${ErrorCode.NOT_LEADER_OR_FOLLOWER}`, `${ErrorCode.LEADER_NOT_AVAILABLE}`]);
    for (const k of codes.keys()) if (!allowed.has(k)) ctx.violations.push(`acks=all with two brokers down answered ${k} (within ${ANSWER_WITHIN_MS} ms)`);
    await Promise.all(dead.map((b) => b.restart()));
    await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
  };
}

/**
 * Cuts off the leader of partition 0 and keeps writing to it with acks=1 (the checker still
 * reaches it) while the others elect a new leader and take acks=all writes; then heals. The
 * old leader must truncate its unreplicated tail and rejoin: the run's replica comparison then
 * shows all three logs byte-identical, and those acks=1 values absent.
 */
export function divergentOldLeader(extraMs = 1500): Fault {
  return async (ctx) => {
    const before = (await ctx.cluster.view(ctx.topic))[0]!;
    const old = before.leader;
    const e = strike(ctx, 'cut-leader-acks1', [0], `broker ${old} cut off, acks=1 writes to it`);
    ctx.cluster.isolate(old);
    let newLeaderAt = 0;
    let written = 0;
    while (newLeaderAt === 0 ? Date.now() < e.at + RECOVERY_BOUND_MS : Date.now() < newLeaderAt + extraMs) {
      const op = await ctx.workload.writeOnce(0, 1, old);
      if (op.outcome === 'ok') written++;
      if (newLeaderAt === 0) {
        const now = (await ctx.cluster.view(ctx.topic))[0]!;
        if (now.leaderEpoch > before.leaderEpoch && now.leader !== old) newLeaderAt = Date.now();
      }
      await sleep(20);
    }
    ctx.notes.push(`${written} acks=1 writes acknowledged by the cut-off broker ${old}; new leader ${newLeaderAt ? `after ${newLeaderAt - e.at} ms` : 'never elected'}`);
    if (newLeaderAt === 0) ctx.violations.push(`no new leader for partition 0 within ${RECOVERY_BOUND_MS} ms of cutting off broker ${old}`);
    if (written === 0) ctx.violations.push(`the cut-off broker ${old} took no acks=1 write, so divergence was not exercised`);
    ctx.cluster.isolate(null);
    await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
  };
}

/**
 * SIGKILL the transaction coordinator of the workload's first transactional id `kills` times,
 * restarting it each time. Every transaction of that id stalls until another broker has loaded
 * its `__transaction_state` partition; recovery counts on every partition.
 */
export function killTxnCoordinator(kills: number): Fault {
  return async (ctx) => {
    const [transactionalId] = ctx.workload.transactionalIds();
    if (transactionalId === undefined) throw new Error('killTxnCoordinator needs a transactional workload');
    const every = Array.from({ length: ctx.partitions }, (_, p) => p);
    for (let i = 0; i < kills; i++) {
      const victim = await ctx.cluster.txnCoordinator(transactionalId, RECOVERY_BOUND_MS);
      const e = strike(ctx, 'sigkill-txn-coordinator', every, `broker ${victim}, coordinator of ${transactionalId}`);
      await ctx.cluster.broker(victim).kill('SIGKILL');
      if (!(await awaitAcks(ctx, every, e.at, RECOVERY_BOUND_MS))) ctx.notes.push(`kill ${i + 1}: not writable within ${RECOVERY_BOUND_MS} ms of killing coordinator ${victim}`);
      await ctx.cluster.broker(victim).restart();
      await ctx.cluster.waitFullIsr(ctx.topic, ISR_BOUND_MS);
    }
  };
}

/** The faults one after the other. */
export function inTurn(...faults: Fault[]): Fault {
  return async (ctx) => {
    for (const f of faults) await f(ctx);
  };
}
