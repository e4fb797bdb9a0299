/**
 * Faults struck by commands the caller supplies, so the checker works against any
 * Kafka-compatible cluster: a shell command per action, in which `{node}` stands for the
 * victim's node id and `{host}`/`{port}` for its client address. A command that exits
 * non-zero ends the run.
 *
 *   sigkill   kill a partition leader (rotating partitions), wait for every partition to take
 *             an acks=all write again, restart it, wait for a full ISR; `kills` times.
 *             Recovery counts on every partition, those it led and those it only followed.
 *   sigstop   pause the leader of partition 0 for `pausedMs`, resume it, wait for a full ISR.
 *             Recovery counts on the partitions it led.
 *   overlap   kill a leader, wait for every partition to take writes again, restart it, and
 *             while it is still catching up kill another leader; restart that one; `kills`
 *             times. Recovery of each kill counts on every partition.
 *   sigkill-coordinator
 *             (transactional workload) kill the transaction coordinator of the workload's first
 *             transactional id, as a broker names it, then as sigkill; `kills` times.
 */
import { spawn } from 'node:child_process';
import { BrokerLinks, CoordinatorType, splitAddress } from './client.js';
import { awaitAcks, awaitFullIsr, sleep, strike, type FaultLog } from './faults.js';

export interface FaultCommands {
  kill?: string;
  restart?: string;
  pause?: string;
  resume?: string;
}

export interface CommandFaultOptions {
  commands: FaultCommands;
  kills: number;
  pausedMs: number;
  /** How long the partitions a fault hit may go without an acks=all write before a note says so. */
  recoveryBoundMs: number;
  /** How long a restarted broker may take to be back in every ISR. */
  isrBoundMs: number;
}

export const COMMAND_FAULTS = ['sigkill', 'sigstop', 'overlap', 'sigkill-coordinator'] as const;
export type CommandFault = (typeof COMMAND_FAULTS)[number];

/** What a fault needs from its commands, by name. */
export function neededCommands(fault: CommandFault): (keyof FaultCommands)[] {
  return fault === 'sigstop' ? ['pause', 'resume'] : ['kill', 'restart'];
}

/** Runs `template` for node `nodeId` through the shell; resolves when it exits 0, throws otherwise. */
export function runCommand(template: string, nodeId: number, address: string | undefined): Promise<void> {
  const { host, port } = address ? splitAddress(address) : { host: '', port: 0 };
  const command = template.replaceAll('{node}', String(nodeId)).replaceAll('{host}', host).replaceAll('{port}', String(port));
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`\`${command}\` exited with ${code ?? signal}: ${err.trim()}`));
    });
  });
}

export async function runCommandFault(fault: CommandFault, log: FaultLog, o: CommandFaultOptions): Promise<void> {
  const view = log.workload.view;
  const all = (): number[] => view.partitions().map((p) => p.partition);
  const act = (what: keyof FaultCommands, nodeId: number): Promise<void> => runCommand(o.commands[what]!, nodeId, view.address(nodeId));
  const leaderOf = async (partition: number, not?: number): Promise<number> => {
    for (let i = 0; i < 50; i++) {
      await view.refresh();
      const ps = view.partitions();
      const id = ps[partition % ps.length]?.leader ?? -1;
      const other = ps.find((p) => p.leader >= 0 && p.leader !== not)?.leader ?? -1;
      const pick = id >= 0 && id !== not ? id : other;
      if (pick >= 0) return pick;
      await sleep(200);
    }
    throw new Error(`no partition leader${not === undefined ? '' : ` other than ${not}`} in the metadata`);
  };
  const coordinatorOf = async (transactionalId: string): Promise<number> => {
    const links = new BrokerLinks('checker-fault');
    try {
      for (let i = 0; i < 50; i++) {
        for (const id of view.brokerIds()) {
          const r = await links.findCoordinator(view.address(id)!, transactionalId, CoordinatorType.TRANSACTION);
          if (r.kind === 'ok') return r.value.nodeId;
        }
        await sleep(200);
      }
    } finally {
      links.close();
    }
    throw new Error(`no broker named the coordinator of ${transactionalId}`);
  };
  const recover = async (partitions: number[], at: number, what: string): Promise<void> => {
    if (!(await awaitAcks(log, partitions, at, o.recoveryBoundMs))) log.notes.push(`${what}: partitions ${partitions} not writable within ${o.recoveryBoundMs} ms`);
  };

  if (fault === 'sigstop') {
    const victim = await leaderOf(0);
    const led = view.partitions().filter((p) => p.leader === victim).map((p) => p.partition);
    const e = strike(log, 'sigstop-leader', led, `broker ${victim} for ${o.pausedMs} ms`);
    await act('pause', victim);
    await awaitAcks(log, led, e.at, Math.max(o.pausedMs, o.recoveryBoundMs));
    await sleep(Math.max(0, e.at + o.pausedMs - Date.now()));
    await act('resume', victim);
    await awaitFullIsr(view, o.isrBoundMs);
    return;
  }
  if (fault === 'sigkill-coordinator') {
    const [transactionalId] = log.workload.transactionalIds();
    if (transactionalId === undefined) throw new Error('sigkill-coordinator needs the transactional workload');
    for (let i = 0; i < o.kills; i++) {
      const victim = await coordinatorOf(transactionalId);
      const e = strike(log, 'sigkill-txn-coordinator', all(), `broker ${victim}, coordinator of ${transactionalId}`);
      await act('kill', victim);
      await recover(all(), e.at, `kill ${i + 1}`);
      await act('restart', victim);
      await awaitFullIsr(view, o.isrBoundMs);
    }
    return;
  }
  for (let i = 0; i < o.kills; i++) {
    const first = await leaderOf(i);
    const e = strike(log, fault === 'sigkill' ? 'sigkill-leader' : 'overlap-first', all(), `broker ${first}`);
    await act('kill', first);
    await recover(all(), e.at, `kill ${i + 1}`);
    await act('restart', first);
    if (fault === 'overlap') {
      const second = await leaderOf(i + 1, first);
      const e2 = strike(log, 'overlap-second', all(), `broker ${second} while broker ${first} recovers`);
      await act('kill', second);
      await recover(all(), e2.at, `kill ${i + 1}, second`);
      await act('restart', second);
    }
    await awaitFullIsr(view, o.isrBoundMs);
  }
}
