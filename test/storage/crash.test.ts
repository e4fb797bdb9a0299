import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { crc32c } from '../../src/shared/crc32c.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { config, silent, splitBatches, tmpDir } from './helpers.js';

const KILLS = 22;
const repo = path.resolve(import.meta.dirname, '../..');

/**
 * The child runs as plain JavaScript: starting it through the TypeScript loader costs seconds
 * per start, 22 starts would dominate the test. Its module graph is transpiled once, under
 * node_modules/.cache so that its imports of installed packages resolve.
 */
function buildChild(): string {
  const out = path.join(repo, 'node_modules', '.cache', `storage-crash-${process.pid}`);
  const dirs = ['src/shared', 'src/workers/partition/log', 'src/workers/partition/log/cleaner', 'test/storage'];
  for (const d of dirs) {
    for (const f of fs.readdirSync(path.join(repo, d))) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      const src = fs.readFileSync(path.join(repo, d, f), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      fs.mkdirSync(path.join(out, d), { recursive: true });
      fs.writeFileSync(path.join(out, d, f.replace(/\.ts$/, '.js')), js);
    }
  }
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  return out;
}

/** Runs the child until a random moment after its first acknowledgement, then SIGKILLs it. */
function runAndKill(child: string, dir: string, acked: Map<number, number>): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let armed = false;
    p.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, offset, crc] = line.split(' ');
        if (kind !== 'ack') continue;
        acked.set(Number(offset), Number(crc));
        if (!armed) {
          armed = true;
          setTimeout(() => p.kill('SIGKILL'), 20 + Math.random() * 300);
        }
      }
    });
    p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}`))));
  });
}

t.test(`every fsync-acknowledged append survives SIGKILL (${KILLS} kills)`, async (t) => {
  const dir = tmpDir(t, 'crash');
  const cfg = config({ segmentBytes: 256 * 1024, indexIntervalBytes: 1024 });
  const built = buildChild();
  t.teardown(() => fs.rmSync(built, { recursive: true, force: true }));
  const child = path.join(built, 'test', 'storage', 'crash-child.js');
  const acked = new Map<number, number>();
  for (let k = 0; k < KILLS; k++) {
    await runAndKill(child, dir, acked);
    const m = await LogManager.open({ dir, config: cfg, logger: silent });
    const log = m.get('crash', 0)!;
    const stored = new Map<number, number>();
    for (let offset = 0; offset < log.logEndOffset; ) {
      const parts = splitBatches((await m.read(log, offset, 1 << 20)).records);
      for (const b of parts) stored.set(b.baseOffset, crc32c(b.bytes));
      offset = parts[parts.length - 1]!.lastOffset + 1;
    }
    let missing = 0;
    for (const [offset, crc] of acked) if (stored.get(offset) !== crc) missing++;
    t.equal(missing, 0, `kill ${k + 1}: ${acked.size} acknowledged appends all present byte for byte (log end ${log.logEndOffset})`);
    await m.close();
  }
});
