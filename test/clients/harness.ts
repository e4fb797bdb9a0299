/**
 * Small pieces the client tests share: waiting for a condition, running an external client
 * with a deadline, and putting the broker's own log into the TAP output when a test fails,
 * so a failure report carries the broker's side of the story.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { BrokerProcess } from '../helpers/broker.js';

interface TapLike {
  passing(): boolean;
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
}

export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Stops the broker at the end of the test; when the test failed, prints the tail of its log first. */
export function brokerTeardown(t: TapLike, broker: BrokerProcess): void {
  t.teardown(() => {
    if (!t.passing()) t.comment(`broker log (tail):\n${broker.output().split('\n').slice(-40).join('\n')}`);
    broker.cleanup();
  });
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion (or until timeoutMs, then SIGKILL), never rejecting. */
export function run(cmd: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: Buffer.concat(out), stderr: `${err}${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
  });
}

/** True when `cmd args` runs and exits 0 (used to skip a file when a client is not installed). */
export function commandWorks(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}
