import { writeFileSync } from 'node:fs';
import { runScenario } from './scenario.js';
import { killLeader } from './faults.js';
import { fullReport } from './report.js';
const r = await runScenario('kill', killLeader(Number(process.env.KILLS ?? 2)), { direct: !!process.env.DIRECT, onError: (o) => writeFileSync('/tmp/chk/out.txt', o) });
console.log(fullReport([r]));
console.log(JSON.stringify(r.result.recoveries.map(x=>[x.fault.detail,x.fault.partitions,x.ms])));
