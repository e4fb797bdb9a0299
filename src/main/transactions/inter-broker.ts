/**
 * Requests from this broker to another one (transaction markers, transaction verification):
 * one connection per broker over the inter-broker listener, requests one at a time on it. A
 * failed request drops its connection; the next request dials again.
 */
import { dialBroker, type InterBrokerClient } from '../../shared/broker-connection.js';
import type { ClientConnection } from '../../shared/client-connection.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { ApiMessages, RequestOf, ResponseOf } from '../../shared/protocol/generated/codecs.js';
import type { MetadataCache } from '../metadata-cache.js';

interface Link {
  conn: Promise<ClientConnection>;
  chain: Promise<unknown>;
}

export class InterBrokerRequests {
  private readonly links = new Map<number, Link>();

  constructor(private readonly nodeId: number, private readonly metadata: MetadataCache, private readonly client: InterBrokerClient) {}

  /** Rejects when the broker is unknown, cannot be reached or closes the connection. */
  request<K extends keyof ApiMessages>(brokerId: number, apiKey: K, version: number, body: Encodable<RequestOf<K>>): Promise<ResponseOf<K>> {
    let link = this.links.get(brokerId);
    if (!link) {
      const broker = this.metadata.broker(brokerId);
      if (!broker) return Promise.reject(new Error(`broker ${brokerId} is not known`));
      const conn = dialBroker(broker.host, broker.port, this.client, { clientId: `broker-${this.nodeId}` });
      conn.catch(() => undefined);
      link = { conn, chain: Promise.resolve() };
      this.links.set(brokerId, link);
    }
    const l = link;
    const sent = l.chain.then(async () => (await l.conn).request(apiKey, version, body));
    l.chain = sent.catch(() => undefined);
    return sent.catch((e: unknown) => {
      if (this.links.get(brokerId) === l) this.links.delete(brokerId);
      void l.conn.then((c) => c.close(), () => undefined);
      throw e;
    });
  }

  close(): void {
    for (const l of this.links.values()) void l.conn.then((c) => c.close(), () => undefined);
    this.links.clear();
  }
}
