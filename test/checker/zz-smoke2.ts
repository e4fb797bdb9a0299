import { CheckerCluster, sleep } from './cluster.js';
const c = await CheckerCluster.start();
try {
  await c.createTopic('smoke', 3);
  const b = c.broker(2);
  await b.kill('SIGKILL');
  await sleep(1000);
  const t0 = Date.now();
  try { await b.restart(); console.log('restarted in', Date.now() - t0); } catch (e) { console.log('restart failed'); }
  console.log(b.output().split('\n').filter(l => !l.includes('"level":20')).slice(-60).join('\n'));
} finally { c.cleanup(); }
