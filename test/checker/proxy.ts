/**
 * A fault-injecting TCP proxy between brokers: it forwards a listening port to a target port
 * and can cut the traffic of chosen brokers, which is how the checker partitions the network
 * on one machine without network namespaces.
 *
 * Each proxied connection is attributed to the broker process that opened it: the accepted
 * socket's peer port is looked up in /proc/net/tcp to get the socket inode, and the inode in
 * the brokers' /proc/<pid>/fd links. (Raft traffic does not need this: every broker gets its
 * own `controller.quorum.voters` naming one proxy per (from, to) pair, so the proxy knows the
 * source by construction.) A cut link drops its connections at once and refuses new ones, as a
 * pulled cable that the OS notices would: the brokers see resets and retry, and nothing gets
 * through until the link is healed.
 */
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProxyLink {
  /**
   * Broker id the traffic comes from, or a function naming it per connection: 0 for the
   * checker's own clients, which are never cut off, -1 for a connection no process owns.
   */
  from: number | ((peerPort: number) => number);
  /** Broker id the traffic goes to. */
  to: number;
}

interface Piped {
  from: number;
  a: net.Socket;
  b: net.Socket;
}

export class FaultProxy {
  private server: net.Server | undefined;
  private readonly conns = new Set<Piped>();
  private isolated = new Set<number>();
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly link: ProxyLink,
  ) {}

  async listen(port = 0): Promise<number> {
    const server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Cuts every connection from or to a broker in `ids`; an empty set heals. */
  setIsolated(ids: Iterable<number>): void {
    this.isolated = new Set(ids);
    for (const c of [...this.conns]) if (this.cut(c.from)) this.closeConn(c);
  }

  close(): void {
    this.server?.close();
    for (const c of [...this.conns]) this.closeConn(c);
  }

  private cut(from: number): boolean {
    return from !== CHECKER && (this.isolated.has(this.link.to) || this.isolated.has(from));
  }

  private accept(a: net.Socket): void {
    a.on('error', () => undefined);
    const from = typeof this.link.from === 'number' ? this.link.from : this.link.from(a.remotePort ?? 0);
    if (this.cut(from)) {
      a.destroy();
      return;
    }
    const b = net.connect(this.targetPort, '127.0.0.1');
    b.on('error', () => undefined);
    const c: Piped = { from, a, b };
    this.conns.add(c);
    a.pipe(b);
    b.pipe(a);
    a.on('close', () => this.closeConn(c));
    b.on('close', () => this.closeConn(c));
  }

  private closeConn(c: Piped): void {
    this.conns.delete(c);
    c.a.destroy();
    c.b.destroy();
  }
}

/** Reads `/proc/net/tcp` for the inode of the local socket bound to `localPort` talking to `remotePort`. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      if (local === localPort && remote === remotePort) return f[9];
    }
  }
  return undefined;
}

function processOwns(pid: number, inode: string): boolean {
  const want = `socket:[${inode}]`;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return true;
    } catch {
      // The fd was closed between the listing and the readlink.
    }
  }
  return false;
}

/** The `from` of the checker's own connections (this process's). */
const CHECKER = 0;

/**
 * A `from` resolver for a proxy listening on `proxyPort`: which broker process (id -> pid)
 * holds the client end of the connection whose peer port is given; CHECKER when this process
 * does (the checker's clients, which follow the advertised proxy addresses); -1 when no
 * process can be named, cut like a broker's connection so nothing leaks past a partition.
 */
export function brokerBySocket(proxyPort: () => number, pids: () => Map<number, number | undefined>): (peerPort: number) => number {
  return (peerPort) => {
    const inode = socketInode(peerPort, proxyPort());
    if (inode === undefined) return -1;
    if (processOwns(process.pid, inode)) return CHECKER;
    for (const [id, pid] of pids()) if (pid !== undefined && processOwns(pid, inode)) return id;
    return -1;
  };
}
