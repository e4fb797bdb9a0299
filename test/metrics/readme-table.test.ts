// The README's metrics table lists exactly what the broker's registry serves.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/broker.js';

t.test('README metrics table is the generated one', async (t) => {
  let out = '';
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'tools/metrics-table.mjs'), '--check'], { stdio: 'pipe' });
  } catch (e) {
    out = String((e as { stderr?: Buffer }).stderr ?? e);
  }
  t.equal(out, '', 'node tools/metrics-table.mjs --check finds the table up to date');
});
