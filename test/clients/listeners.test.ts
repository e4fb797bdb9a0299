// A broker with two client listeners (an internal one for brokers, an external one for
// clients elsewhere): every client is told the brokers' and coordinators' addresses on the
// listener it came in on, as Kafka answers, so a client of one listener is never sent to the
// other. kcat checks Metadata as a user sees it; the wire client checks FindCoordinator and
// DescribeCluster.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown } from './harness.js';
import { WireClient } from './wire-client.js';

t.test('each client listener answers with its own advertised addresses', async (t) => {
  const internal = await freePort();
  const external = await freePort();
  const controller = await freePort();
  const broker = await startBroker({
    port: internal,
    controllerPort: controller,
    overrides: {
      listeners: `INTERNAL://127.0.0.1:${internal},EXTERNAL://127.0.0.1:${external},CONTROLLER://127.0.0.1:${controller}`,
      'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'INTERNAL',
      // The external name is what clients outside would resolve; "localhost" reaches this one.
      'advertised.listeners': `INTERNAL://127.0.0.1:${internal},EXTERNAL://localhost:${external}`,
    },
  });
  brokerTeardown(t, broker);

  const listed = (port: number): string => execFileSync('kcat', ['-b', `127.0.0.1:${port}`, '-L', '-m', '10'], { encoding: 'utf8', timeout: 30_000 });
  t.match(listed(internal), new RegExp(`broker 1 at 127\\.0\\.0\\.1:${internal}`), 'a client of the internal listener is given the internal address');
  t.match(listed(external), new RegExp(`broker 1 at localhost:${external}`), 'a client of the external listener is given the external address');

  for (const [name, port, host] of [['internal', internal, '127.0.0.1'], ['external', external, 'localhost']] as const) {
    const c = await WireClient.connect(port);
    t.teardown(() => c.close());
    const found = await c.request(ApiKey.FindCoordinator, 3, { key: 'a-group', keyType: 0 });
    t.same({ errorCode: found.errorCode, host: found.host, port: found.port }, { errorCode: 0, host, port }, `FindCoordinator on the ${name} listener names the ${name} address`);
    const cluster = await c.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
    t.same(cluster.brokers.map((b: { host: string; port: number }) => `${b.host}:${b.port}`), [`${host}:${port}`], `DescribeCluster on the ${name} listener names the ${name} address`);
  }
});
