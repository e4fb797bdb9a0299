/**
 * The checker as a command, for a longer soak than CI runs: every fault in its own run on a
 * fresh cluster, then the summary table, and the failover figures of the SIGKILL run.
 *
 *   npm run build
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import test/checker/run.ts \
 *     [--kills=20] [--faults=sigkill,sigstop,rolling,partition,divergent,two-down] [--idempotent]
 *     [--transactional] [--set=broker.session.timeout.ms=9000 ...]
 *
 * Besides those six, `overlap` (a second SIGKILL while the first victim catches up, a quarter
 * as many rounds as kills), `sigkill-follower` (SIGKILL a leader, recovery counted on the partitions
 * it only followed) and `sigkill-controller` (SIGKILL the active controller, recovery counted
 * on every partition) measure the other failovers. `--transactional` runs the transactional
 * workload (transactional producers, read_committed readers, the transactions table; with
 * `transaction.state.log.num.partitions` 6 unless set), where `sigkill-coordinator` (SIGKILL the
 * transaction coordinator of a transactional id) adds the coordinator's failover. `--set` overrides a broker setting of the
 * checker's (short sessions by default); `--set=broker.session.timeout.ms=9000
 * --set=broker.heartbeat.interval.ms=2000` runs at Kafka's defaults.
 *
 * (tap's TypeScript loader runs it straight from source; TS_NODE_TRANSPILE_ONLY skips the type
 * check, which `npx tsc -p . --noEmit` style checks cover.) Exits 1 when any run broke a rule.
 */
import { parseArgs } from 'node:util';
import { failoverSummary, fullReport, problems, type RunReport } from '../../src/checker/report.js';
import { divergentOldLeader, isolateLeader, killBroker, killLeader, killTxnCoordinator, overlappingKills, pauseLeader, rollingRestart, twoDown, type Fault } from './faults.js';
import { runScenario } from './scenario.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    faults: { type: 'string', default: 'sigkill,sigstop,rolling,partition,divergent,two-down' },
    idempotent: { type: 'boolean', default: false },
    transactional: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const settings = {
  ...(values.transactional ? { 'transaction.state.log.num.partitions': 6 } : {}),
  ...Object.fromEntries(values.set.map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--set wants key=value, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  })),
};

const FAULTS: Record<string, { fault: Fault; direct: boolean }> = {
  sigkill: { fault: killLeader(Number(values.kills)), direct: true },
  'sigkill-follower': { fault: killBroker(Number(values.kills), 'leader', 'followed'), direct: true },
  'sigkill-controller': { fault: killBroker(Number(values.kills), 'controller', 'all'), direct: true },
  'sigkill-coordinator': { fault: killTxnCoordinator(Number(values.kills)), direct: true },
  sigstop: { fault: pauseLeader(6000), direct: true },
  rolling: { fault: rollingRestart(), direct: true },
  'two-down': { fault: twoDown(8000), direct: true },
  overlap: { fault: overlappingKills(Math.max(1, Math.round(Number(values.kills) / 4))), direct: true },
  partition: { fault: isolateLeader(8000), direct: false },
  divergent: { fault: divergentOldLeader(), direct: false },
};

const reports: RunReport[] = [];
for (const name of values.faults.split(',')) {
  const f = FAULTS[name];
  if (!f) throw new Error(`unknown fault ${name} (know: ${Object.keys(FAULTS).join(', ')})`);
  process.stderr.write(`running ${name}...\n`);
  try {
    const r = await runScenario(name, f.fault, {
      direct: f.direct,
      idempotent: values.idempotent || values.transactional,
      settings,
      workload: { transactional: values.transactional },
      onError: (o) => process.stderr.write(o.slice(-20_000)),
    });
    reports.push(r);
    process.stderr.write(`${name}: ${problems(r).length ? 'FAIL' : 'ok'} in ${(r.durationMs / 1000).toFixed(0)} s\n${fullReport([r])}\n`);
  } catch (e) {
    process.stderr.write(`${name}: run failed: ${(e as Error).message.slice(0, 2000)}\n`);
  }
}
console.log(fullReport(reports));
const FAILOVERS: Record<string, string> = {
  sigkill: 'SIGKILL of a leader to the first acks=all ack on each of its partitions',
  'sigkill-follower': 'SIGKILL of a leader to the first acks=all ack on each partition it only followed',
  'sigkill-controller': 'SIGKILL of the active controller to the first acks=all ack on every partition',
  'sigkill-coordinator': 'SIGKILL of the transaction coordinator to the first acks=all ack on every partition',
};
for (const [name, what] of Object.entries(FAILOVERS)) {
  const kills = reports.find((r) => r.name === name);
  if (kills) console.log(`\n${failoverSummary(kills, what)}`);
}
process.exitCode = reports.length === values.faults.split(',').length && reports.every((r) => problems(r).length === 0) ? 0 : 1;
