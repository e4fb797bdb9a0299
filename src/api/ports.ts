/** Loopback ports for brokers started from code: a free one when none is given, and the wait for one to open. */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Where free ports are looked for: below the kernel's ephemeral range (Linux's default is
 * 32768-60999, its ip_local_port_range; BSD, macOS and Windows start theirs at 49152), never in
 * it. A port the kernel handed out for `listen(0)` is free again the moment it is closed, and
 * any outgoing connection on the machine may take it as its source port before the broker binds
 * it (EADDRINUSE at start), or while the broker restarts on it. Ports below the range are only
 * ever bound on purpose.
 */
const LOWEST = 10_000;

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low)) return low;
  } catch {
    // Not Linux: the other systems' ranges start at 49152.
  }
  return 32_768;
}

/** [from, to): the span below the ephemeral range; with none left there, the kernel's choice. */
const span = ((): { from: number; to: number } | null => {
  const to = Math.min(ephemeralStart(), 32_768);
  return to - LOWEST >= 1000 ? { from: LOWEST, to } : null;
})();

/** Ports this process has handed out, never handed out twice (two brokers started at once get different ones). */
const handedOut = new Set<number>();

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function kernelsChoice(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A port free on `host` now, from below the ephemeral range (see `span`), checked by binding
 * it. Another process can still bind it first; callers that lose that race start again.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  if (!span) return kernelsChoice(host);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = span.from + Math.floor(Math.random() * (span.to - span.from));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no free port on ${host} in ${span.from}..${span.to - 1} after 100 tries`);
}

/** Resolves once `host:port` accepts a connection; rejects when `gone()` names a reason or after `timeoutMs`. */
export async function waitForPort(host: string, port: number, timeoutMs: number, gone: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = gone();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
