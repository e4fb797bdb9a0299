/**
 * Requests from this broker to another one (transaction markers, transaction verification):
 * one connection per broker over the inter-broker listener, requests one at a time on it. A
 * failed request drops its connection; the next request dials again.
 */
import type net from 'node:net';
import { dialBroker, exchange, type InterBrokerClient } from '../../shared/broker-connection.js';
import type { MetadataCache } from '../metadata-cache.js';

interface Link {
  socket: Promise<net.Socket>;
  chain: Promise<unknown>;
  correlationId: number;
}

export class InterBrokerRequests {
  private readonly links = new Map<number, Link>();

  constructor(private readonly nodeId: number, private readonly metadata: MetadataCache, private readonly client: InterBrokerClient) {}

  /** Rejects when the broker is unknown, cannot be reached or closes the connection. */
  request<T>(brokerId: number, apiKey: number, version: number, body: object): Promise<T> {
    let link = this.links.get(brokerId);
    if (!link) {
      const broker = this.metadata.broker(brokerId);
      if (!broker) return Promise.reject(new Error(`broker ${brokerId} is not known`));
      const socket = dialBroker(broker.host, broker.port, this.client, `broker-${this.nodeId}`);
      socket.catch(() => undefined);
      link = { socket, chain: Promise.resolve(), correlationId: 1 };
      this.links.set(brokerId, link);
    }
    const l = link;
    const sent = l.chain.then(async () => exchange<T>(await l.socket, apiKey, version, l.correlationId++, `broker-${this.nodeId}`, body));
    l.chain = sent.catch(() => undefined);
    return sent.catch((e: unknown) => {
      if (this.links.get(brokerId) === l) this.links.delete(brokerId);
      void l.socket.then((s) => s.destroy(), () => undefined);
      throw e;
    });
  }

  close(): void {
    for (const l of this.links.values()) void l.socket.then((s) => s.destroy(), () => undefined);
    this.links.clear();
  }
}
