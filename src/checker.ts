#!/usr/bin/env node
/**
 * The fault checker as a command (`kafka-ts-checker`, or `node dist/checker.js`): runs the
 * producer/consumer history workload against any Kafka-compatible cluster while the faults the
 * caller supplies as shell commands strike, then prints what it found: values lost,
 * duplicated, reordered, high watermarks that moved back, and how long each fault left its
 * partitions without an acknowledged acks=all write; with --transactional, transactions
 * committed and aborted under read_committed readers, and what those readers saw of them.
 * Exits 1 when a run broke a rule.
 */
import { parseArgs } from 'node:util';
import { COMMAND_FAULTS, neededCommands, type CommandFault } from './checker/command-faults.js';
import { fullReport, failoverSummary, problems, type RunReport } from './checker/report.js';
import { ensureTopic, runAgainstCluster } from './checker/run.js';

const HELP = `Usage:
  kafka-ts-checker --bootstrap HOST:PORT[,HOST:PORT...] --topic TOPIC [options]

Runs one producer per partition (batches of fresh values, acks=all, up to 5 requests in
flight) and tailing consumers, following the metadata the brokers give, while each fault kind
strikes in its own run; then reads every partition back and checks the history.

Options:
  --topic TOPIC          Topic to write (made with --partitions and replication factor 3 when
                         missing; records of earlier runs in it are skipped).
  --partitions N         Partitions of a new topic (default 6).
  --faults LIST          Fault kinds, comma-separated (default: the kinds the given commands allow):
                           sigkill  kill a partition leader, restart it; --kills times
                           sigstop  pause the leader of partition 0 for --pause-ms, resume it
                           overlap  kill a leader, restart it, kill another while the first
                                    catches up, restart it; --kills times
                           sigkill-coordinator  (--transactional) kill the transaction
                                    coordinator of a transactional id, restart it; --kills times
  --kills N              Kills per sigkill or overlap run (default 5).
  --pause-ms MS          How long sigstop pauses its victim (default 15000).
  --duration S           Seconds the workload runs before the first fault (default 5).
  --settle S             Seconds it runs after the last fault (default 3).
  --idempotent           Idempotent producers (producer id, epoch and sequence per batch;
                         unacknowledged batches are sent again).
  --transactional        Transactional producers instead (3 transactional ids, each writing
                         transactions over a random subset of the partitions, 2 batches a
                         partition, 2/3 committed, the rest aborted; retried and re-initialised
                         as Kafka's producer does) and read_committed readers on every
                         partition. Adds the transactions table: every committed transaction
                         seen whole, no aborted value ever, unknown outcomes all or nothing,
                         produce order kept, the last stable offset never moving back.
  --batch N              Records per batch (default 5).
  --in-flight N          Requests in flight per producer (default 5).
  --recovery-bound MS    A fault's partitions without an acks=all write for longer is noted
                         (default 30000).
  --fault-cmd CMD        Kills a node: a shell command; {node} is its node id, {host} and
                         {port} its client address, e.g. 'kill -9 $(cat /data/{node}.pid)'.
  --restart-cmd CMD      Starts a killed node again (returns once it listens).
  --pause-cmd CMD        Pauses a node (e.g. kill -STOP); --resume-cmd CMD resumes it.
  -h, --help             This text.
`;

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    partitions: { type: 'string', default: '6' },
    faults: { type: 'string' },
    kills: { type: 'string', default: '5' },
    'pause-ms': { type: 'string', default: '15000' },
    duration: { type: 'string', default: '5' },
    settle: { type: 'string', default: '3' },
    idempotent: { type: 'boolean', default: false },
    transactional: { type: 'boolean', default: false },
    batch: { type: 'string', default: '5' },
    'in-flight': { type: 'string', default: '5' },
    'recovery-bound': { type: 'string', default: '30000' },
    'fault-cmd': { type: 'string' },
    'restart-cmd': { type: 'string' },
    'pause-cmd': { type: 'string' },
    'resume-cmd': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function usage(message: string): never {
  process.stderr.write(`${message}\nkafka-ts-checker --help lists the options.\n`);
  process.exit(2);
}

function count(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usage(`--${name} wants a number of at least ${min}, not ${v}`);
  return n;
}

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (!values.bootstrap) usage('--bootstrap is required');
if (!values.topic) usage('--topic is required');
const commands = { kill: values['fault-cmd'], restart: values['restart-cmd'], pause: values['pause-cmd'], resume: values['resume-cmd'] };
const allowed = COMMAND_FAULTS.filter((f) => neededCommands(f).every((c) => commands[c] !== undefined) && (values.transactional || f !== 'sigkill-coordinator'));
const faults = (values.faults ? values.faults.split(',') : allowed) as CommandFault[];
if (faults.length === 0) usage('no fault to run: give --fault-cmd and --restart-cmd, or --pause-cmd and --resume-cmd');
for (const f of faults) {
  if (!COMMAND_FAULTS.includes(f)) usage(`unknown fault ${f} (know: ${COMMAND_FAULTS.join(', ')})`);
  const missing = neededCommands(f).filter((c) => commands[c] === undefined);
  if (missing.length) usage(`fault ${f} needs ${missing.map((c) => `--${c === 'kill' ? 'fault' : c}-cmd`).join(' and ')}`);
  if (f === 'sigkill-coordinator' && !values.transactional) usage('fault sigkill-coordinator needs --transactional');
}

const bootstrap = values.bootstrap.split(',').map((s) => s.trim()).filter(Boolean);
const partitions = count('partitions', values.partitions);
await ensureTopic(bootstrap, values.topic, partitions);
const reports: RunReport[] = [];
let failedRuns = 0;
for (const fault of faults) {
  process.stderr.write(`running ${fault}...\n`);
  try {
    const r = await runAgainstCluster(fault, {
      bootstrap,
      topic: values.topic,
      partitions,
      idempotent: values.idempotent || values.transactional,
      warmupMs: count('duration', values.duration, 0) * 1000,
      settleMs: count('settle', values.settle, 0) * 1000,
      commands,
      kills: count('kills', values.kills),
      pausedMs: count('pause-ms', values['pause-ms']),
      recoveryBoundMs: count('recovery-bound', values['recovery-bound']),
      isrBoundMs: 120_000,
      workload: { batchRecords: count('batch', values.batch), maxInFlight: count('in-flight', values['in-flight']), transactional: values.transactional },
    });
    reports.push(r);
    process.stderr.write(`${fault}: ${problems(r).length ? 'FAIL' : 'ok'} in ${(r.durationMs / 1000).toFixed(0)} s\n`);
  } catch (e) {
    failedRuns++;
    process.stderr.write(`${fault}: run failed: ${(e as Error).message}\n`);
  }
}
console.log(fullReport(reports));
const WHAT: Record<CommandFault, string> = {
  sigkill: 'kill of a partition leader to the first acks=all ack on every partition',
  sigstop: 'pause of a partition leader to the first acks=all ack on each partition it led',
  overlap: 'each of two overlapping kills to the first acks=all ack on every partition',
  'sigkill-coordinator': 'kill of the transaction coordinator to the first acks=all ack on every partition',
};
for (const r of reports) console.log(`\n${failoverSummary(r, WHAT[r.name as CommandFault])}`);
process.exit(failedRuns === 0 && reports.every((r) => problems(r).length === 0) ? 0 : 1);
