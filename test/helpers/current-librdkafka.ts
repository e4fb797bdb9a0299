// A current librdkafka: confluent-kafka from pip, in a venv made in a temp dir (Debian's
// python3-confluent-kafka carries librdkafka 2.0.2). Null when python3 or pip's registry is
// not there; the venv goes with the test run.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { run } from '../clients/harness.js';
import { hasCommand } from './broker.js';

export async function venvPython(): Promise<string | null> {
  if (!hasCommand('python3')) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ck-venv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = await run('python3', ['-m', 'venv', dir], { timeoutMs: 60_000 });
  if (made.code !== 0) return null;
  const python = path.join(dir, 'bin/python');
  const pip = await run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'confluent-kafka'], { timeoutMs: 120_000 });
  return pip.code === 0 ? python : null;
}
