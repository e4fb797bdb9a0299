/**
 * One broker as a child process of the caller (`node dist/main.js --override key=value ...`),
 * for `startBroker({ mode: 'child-process' })` and every member of `startCluster`: launched,
 * awaited until its client port accepts connections, ended by a real signal (SIGTERM is the
 * broker's controlled shutdown, SIGKILL a crash) and launched again on the same data dir.
 * A child never outlives the caller's process, however that ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitForPort } from './ports.js';
import type { ConfigValues } from './config-values.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
export const START_TIMEOUT_MS = 60_000;
/** Kept output is the tail of what the broker wrote: enough for the lines before a failure. */
const KEPT_OUTPUT_CHARS = 1 << 20;

/** Children still running, killed when the caller's process exits. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(p: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  running.add(p);
  p.once('exit', () => running.delete(p));
}

export interface ChildBrokerOptions {
  nodeId: number;
  host: string;
  port: number;
  settings: ConfigValues;
  /** 'keep': the output is kept for `output()`; 'inherit': it goes to the caller's stdout and stderr. */
  stdio: 'keep' | 'inherit';
  env: NodeJS.ProcessEnv;
}

export class ChildBroker {
  private child: ChildProcess | null = null;
  private out = '';
  private readonly args: string[];

  constructor(private readonly opts: ChildBrokerOptions) {
    this.args = [MAIN, ...Object.entries(opts.settings).flatMap(([k, v]) => ['--override', `${k}=${v}`])];
  }

  /** The running process, or null when it was ended. */
  get process(): ChildProcess | null {
    return this.child;
  }

  /** What the broker wrote to stdout and stderr (its last MiB), when kept. */
  output(): string {
    return this.out;
  }

  launch(): void {
    if (this.child) throw new Error(`broker ${this.opts.nodeId} is running`);
    const keep = this.opts.stdio === 'keep';
    const p = spawn(process.execPath, this.args, { env: this.opts.env, stdio: keep ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    this.child = p;
    killOnExit(p);
    if (keep) {
      const append = (d: Buffer): void => {
        this.out += d.toString();
        if (this.out.length > KEPT_OUTPUT_CHARS) this.out = this.out.slice(-KEPT_OUTPUT_CHARS);
      };
      p.stdout!.on('data', append);
      p.stderr!.on('data', append);
    }
  }

  /** Resolves once the client port accepts connections; rejects when the process exits first. */
  served(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    return waitForPort(this.opts.host, this.opts.port, timeoutMs, () => this.exitedEarly());
  }

  private exitedEarly(): string | null {
    const p = this.child;
    if (!p || (p.exitCode === null && p.signalCode === null)) return null;
    const kept = this.opts.stdio === 'keep' ? `:\n${this.out}` : '';
    return `broker ${this.opts.nodeId} exited (${p.exitCode ?? p.signalCode}) before serving clients${kept}`;
  }

  /** Sends `signal` and resolves with the exit code once the process is gone (null: ended by a signal, or not running). */
  async end(signal: NodeJS.Signals): Promise<number | null> {
    const p = this.child;
    this.child = null;
    if (!p) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    p.kill(signal);
    return code;
  }
}
